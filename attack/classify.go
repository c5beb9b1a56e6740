package attack

import (
	"strings"

	"github.com/stormtest/stormtest/results"
)

// classify turns what an engine saw of one attempt into its kind: the status code when a
// response was read, an error string otherwise (net/http's errors are matched by their text,
// the form in which vegeta's results also carried them, and fastError gives fasthttp's).
func classify(code uint16, errText string) results.Kind {
	switch {
	case code == 429:
		return results.Kind429
	case code >= 500:
		return results.Kind5xx
	case code >= 400:
		return results.Kind4xx
	case code >= 300 && code != 304 && errText == "":
		// A redirect the client did not follow (follow_redirects 0, or its hops used up):
		// nothing was served. 304 Not Modified answers a conditional request: served.
		return results.Kind3xx
	case code != 0 && errText == "":
		return results.KindOK
	case code != 0:
		// A status below 400 with an error: the body could not be read completely.
		return classifyError(errText)
	case errText == "":
		return results.KindOther
	}
	return classifyError(errText)
}

func classifyError(errText string) results.Kind {
	switch {
	case strings.Contains(errText, errBodyTooLarge.Error()):
		return results.KindTooLarge
	case strings.Contains(errText, "malformed HTTP"),
		strings.Contains(errText, "malformed MIME"),
		strings.Contains(errText, "bogus"),
		strings.Contains(errText, "invalid header"),
		strings.Contains(errText, "http2: invalid"),
		strings.Contains(errText, "PROTOCOL_ERROR"):
		// Not HTTP at all: garbage where a status line belongs, a header that does not
		// parse, a broken HTTP/2 frame.
		return results.KindMalformed
	case strings.Contains(errText, "GOAWAY"),
		strings.Contains(errText, "client connection force closed"):
		// HTTP/2: the server told the connection to go away before it served the request,
		// or the client closed a connection the server had sent away with the request on it.
		return results.KindReset
	case strings.Contains(errText, "Client.Timeout"),
		strings.Contains(errText, "deadline exceeded"),
		strings.Contains(errText, "timeout"):
		return results.KindTimeout
	case strings.Contains(errText, "connection refused"):
		return results.KindRefused
	case strings.Contains(errText, "connection reset"),
		strings.Contains(errText, "broken pipe"),
		strings.Contains(errText, "EOF"),
		strings.Contains(errText, "server closed"):
		return results.KindReset
	}
	return results.KindOther
}

// errorMessage keeps the root cause of a Go error chain and drops the request line and
// socket addresses, so that results files hold a handful of distinct messages rather than
// one per URL or ephemeral port. net/http renders chains as `Get "URL": op: cause`; the
// last ": "-separated part is the cause.
// msgTimeout is what every engine records for an attempt past the client timeout, however
// its client worded it (net/http's "context deadline exceeded (Client.Timeout exceeded while
// awaiting headers)", a dial's "i/o timeout", fasthttp's ErrTimeout, the loop's sweep): one
// message, so that runs on different engines count their timeouts alike.
const msgTimeout = "timeout (no complete response within the client timeout)"

// failure is how every engine records an attempt that ended without a response, from its
// error's text: the kind, and the message (a timeout as msgTimeout, whatever the client said).
func failure(errText string) (results.Kind, string) {
	k := classifyError(errText)
	if k == results.KindTimeout {
		return k, msgTimeout
	}
	return k, errorMessage(errText)
}

func errorMessage(errText string) string {
	if errText == "" {
		return ""
	}
	if i := strings.LastIndex(errText, ": "); i >= 0 {
		errText = errText[i+2:]
	}
	// `malformed HTTP response "<the bytes>"` quotes what the target sent: random garbage
	// would make every message distinct (and fill the file's message table), so the bytes
	// are dropped.
	if i := strings.Index(errText, ` "`); i >= 0 && strings.HasPrefix(errText, "malformed ") {
		errText = errText[:i]
	}
	return errText
}
