package attack

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"
)

// preflightTimeout bounds the whole check: a connection, a proxy's CONNECT and a handshake.
const preflightTimeout = 5 * time.Second

// Preflight connects once to the host the attack would hit first, the way the attack would
// (through the proxy, the connect_to address or the Unix socket), and for an https target
// completes a TLS handshake with the run's TLS settings. A typo in the port, a target that is
// not running, or a certificate the client cannot verify is then reported at once, in one
// line that says which flag or profile key fixes it, rather than as a run full of failures.
// It sends no HTTP request.
func (c Config) Preflight(ctx context.Context) error {
	if err := c.Validate(); err != nil {
		return err
	}
	plan, err := newRequestPlan(c.Target, c.Profile.Request, c.Env)
	if err != nil {
		return err
	}
	target := plan.baseURL()
	u, err := url.Parse(target)
	if err != nil {
		return fmt.Errorf("bad target URL %q: %w", target, err)
	}
	tr, err := newTransport(c.Profile.Transport, target)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, preflightTimeout)
	defer cancel()
	name := origin(u)
	addr := hostPort(u)
	conn, via, err := tr.preflightConn(ctx, u, addr)
	if err != nil {
		return fmt.Errorf("target %s is unreachable%s: %w", name, via, err)
	}
	defer conn.Close() // only a check: nothing was written that a close error could lose
	if u.Scheme != "https" {
		return nil
	}
	if err := tr.checkTLS(ctx, conn, u.Hostname()); err != nil {
		return fmt.Errorf("target %s%s: %w", name, via, err)
	}
	return nil
}

// preflightConn opens the connection a request to u would use; via says how it got there,
// for messages (" through proxy …", " at … (connect_to)").
func (tr *transport) preflightConn(ctx context.Context, u *url.URL, addr string) (net.Conn, string, error) {
	var proxy *url.URL
	if tr.proxy != nil {
		var err error
		if proxy, err = tr.proxy(&http.Request{URL: u}); err != nil {
			return nil, "", fmt.Errorf("choosing the proxy: %w", err)
		}
	}
	switch {
	case tr.t.UnixSocket != "":
		c, err := tr.dial(ctx, "tcp", addr)
		return c, " through Unix socket " + tr.t.UnixSocket + " (--unix-socket, transport.unix_socket)", err
	case proxy == nil:
		via := ""
		if to := tr.route(addr); to != addr {
			via = " at " + to + " (--connect-to, transport.connect_to)"
		}
		c, err := tr.dial(ctx, "tcp", addr)
		return c, via, err
	}
	shown := *proxy
	if shown.User != nil {
		shown.User = url.User("xxxxx")
	}
	via := " through proxy " + shown.String()
	c, err := tr.dial(ctx, "tcp", hostPort(proxy))
	if err != nil || u.Scheme != "https" || !strings.HasPrefix(proxy.Scheme, "http") {
		// A plain-HTTP request goes to the proxy as it is; a socks5 proxy is only dialled.
		return c, via, err
	}
	if proxy.Scheme == "https" {
		tc := tls.Client(c, &tls.Config{ServerName: proxy.Hostname(), RootCAs: tr.tls.RootCAs, MinVersion: tls.VersionTLS12})
		if err := tc.HandshakeContext(ctx); err != nil {
			c.Close()
			return nil, via, fmt.Errorf("TLS with the proxy: %w", err)
		}
		c = tc
	}
	if err := connect(ctx, c, proxy, addr); err != nil {
		c.Close()
		return nil, via, err
	}
	return c, via, nil
}

// connect asks an HTTP proxy for a tunnel to addr, as net/http does for an https target.
func connect(ctx context.Context, c net.Conn, proxy *url.URL, addr string) error {
	if dl, ok := ctx.Deadline(); ok {
		_ = c.SetDeadline(dl)
		defer c.SetDeadline(time.Time{})
	}
	req := &http.Request{Method: http.MethodConnect, URL: &url.URL{Opaque: addr}, Host: addr, Header: http.Header{}}
	if u := proxy.User; u != nil {
		pass, _ := u.Password()
		req.Header.Set("Proxy-Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(u.Username()+":"+pass)))
	}
	if err := req.Write(c); err != nil {
		return fmt.Errorf("CONNECT %s: %w", addr, err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), req)
	if err != nil {
		return fmt.Errorf("CONNECT %s: %w", addr, err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("the proxy refused CONNECT %s: %s", addr, resp.Status)
	}
	return nil
}

// clientCertWait is how long the check waits, after a handshake in which the server asked
// for a client certificate, for the server to refuse it: with TLS 1.3 the refusal comes
// after the client's handshake has finished.
const clientCertWait = time.Second

// checkTLS completes a handshake over c with the run's TLS settings and explains a failure.
func (tr *transport) checkTLS(ctx context.Context, c net.Conn, host string) error {
	cfg := tr.tls.Clone()
	if cfg.ServerName == "" {
		cfg.ServerName = host
	}
	cfg.NextProtos = []string{"http/1.1"}
	if tr.http2() {
		cfg.NextProtos = []string{"h2", "http/1.1"}
	}
	asked := false
	certs := cfg.Certificates
	cfg.Certificates = nil
	cfg.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
		asked = true
		if len(certs) > 0 {
			return &certs[0], nil
		}
		return &tls.Certificate{}, nil
	}
	tc := tls.Client(c, cfg)
	err := tc.HandshakeContext(ctx)
	if err == nil && asked {
		// The server asked for a certificate; see whether it took the one it got (or the
		// lack of one). A server that accepted it waits for a request (the read times out)
		// or sends its HTTP/2 settings.
		_ = tc.SetReadDeadline(time.Now().Add(clientCertWait))
		var b [1]byte
		if _, rerr := tc.Read(b[:]); rerr != nil && !errors.Is(rerr, os.ErrDeadlineExceeded) {
			err = rerr
			if errors.Is(rerr, io.EOF) {
				err = errors.New("the server closed the connection after the handshake")
			}
		}
	}
	if err == nil {
		return nil
	}
	return explainTLS(err, cfg.ServerName, asked, len(certs) > 0, tr.http2())
}

// explainTLS turns a handshake failure into one line that names the flag or profile key that
// fixes it.
func explainTLS(err error, serverName string, asked, haveCert, h2 bool) error {
	msg := strings.Join(strings.Fields(err.Error()), " ")
	var unknown x509.UnknownAuthorityError
	var hostErr x509.HostnameError
	var invalid x509.CertificateInvalidError
	switch {
	case errors.As(err, &unknown):
		issuer := ""
		if unknown.Cert != nil {
			issuer = fmt.Sprintf(" %q", unknown.Cert.Issuer.String())
		}
		return fmt.Errorf("TLS: the server's certificate is signed by an unknown authority%s (%s): give that CA's certificate with --ca FILE (profile: transport.tls.ca), or skip verification with --insecure", issuer, msg)
	case errors.As(err, &hostErr):
		return fmt.Errorf("TLS: the server's certificate is not valid for %q (%s): give the name it is valid for with --server-name (transport.tls.server_name), or use that name in the target and reach it with --connect-to NAME:PORT:ADDR:PORT", serverName, msg)
	case errors.As(err, &invalid):
		return fmt.Errorf("TLS: the server's certificate is not valid (%s): renew it, or skip verification with --insecure", msg)
	case asked && !haveCert && isRemoteAlert(msg):
		return fmt.Errorf("TLS: the server requires a client certificate (%s): give one with --cert FILE --key FILE (transport.tls.cert and key)", msg)
	case asked && haveCert && isRemoteAlert(msg):
		return fmt.Errorf("TLS: the server refused the client certificate (%s): check that --cert (transport.tls.cert) is signed by a CA the server trusts", msg)
	case strings.Contains(msg, "protocol version"):
		return fmt.Errorf("TLS: no TLS version in common with the server (%s): check --tls-min-version (transport.tls.min_version)", msg)
	case strings.Contains(msg, "no application protocol") && !h2:
		return fmt.Errorf("TLS: the server speaks no protocol the client offered (%s): it may be HTTP/2 only; drop --http1 (transport.http2: false)", msg)
	case strings.Contains(msg, "first record does not look like a TLS handshake"):
		return fmt.Errorf("TLS: the server does not speak TLS on this port (%s): use an http:// target", msg)
	}
	return fmt.Errorf("TLS handshake failed: %s", msg)
}

// isRemoteAlert reports whether msg is the server's alert about the client's certificate,
// or its closing the connection over it.
func isRemoteAlert(msg string) bool {
	for _, s := range []string{"certificate required", "bad certificate", "unknown certificate authority", "handshake failure", "closed the connection", "certificate unknown"} {
		if strings.Contains(msg, s) {
			return true
		}
	}
	return false
}
