package main

import (
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/stormtest/stormtest/profiles"
)

// transportFlags are how attack and capacity reach the target: one definition, so that the
// two commands take the same flags with the same meaning. Each lays over the profile's
// transport section (profiles.Profile.WithTransport).
func transportFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringSliceFlag{Name: "ca", Usage: "PEM file of a CA to trust besides the system's, e.g. an internal CA or a self-signed certificate (repeatable; profile: transport.tls.ca)"},
		&cli.StringFlag{Name: "cert", Usage: "PEM client certificate for mutual TLS, with --key (profile: transport.tls.cert)"},
		&cli.StringFlag{Name: "key", Usage: "PEM private key of --cert (profile: transport.tls.key)"},
		&cli.StringFlag{Name: "server-name", Usage: "TLS server name (SNI) to send and verify, when not the target's host (profile: transport.tls.server_name)"},
		&cli.BoolFlag{Name: "insecure", Usage: "do not verify the target's TLS certificate; warned at the start and recorded in the results (profile: transport.tls.insecure)"},
		&cli.StringFlag{Name: "tls-min-version", Usage: "lowest TLS version accepted: 1.0, 1.1, 1.2 or 1.3 (default 1.2; profile: transport.tls.min_version)"},
		&cli.BoolFlag{Name: "http1", Usage: "HTTP/1.1 only: do not negotiate HTTP/2 over TLS (profile: transport.http2: false)"},
		&cli.BoolFlag{Name: "h2c", Usage: "cleartext HTTP/2 (prior knowledge) to an http:// target (profile: transport.h2c)"},
		&cli.StringSliceFlag{Name: "connect-to", Usage: "HOST:PORT:ADDR:PORT: send connections for HOST:PORT to ADDR:PORT, keeping the Host header and TLS name, like curl (repeatable; profile: transport.connect_to)"},
		&cli.StringFlag{Name: "proxy", Usage: "proxy URL (http://, https://, socks5://) instead of HTTPS_PROXY/HTTP_PROXY/NO_PROXY, or none to go direct (profile: transport.proxy)"},
		&cli.StringFlag{Name: "unix-socket", Usage: "send every connection to this Unix socket; the target URL still gives the Host header (profile: transport.unix_socket)"},
		&cli.IntFlag{Name: "preconnect", Usage: "keep at least `N` connections open to each origin from before the first attempt, as wrk does: a burst of late attempts finds them ready instead of dialing (HTTP/1.1 with keep-alive only; profile: transport.preconnect)"},
		&cli.StringFlag{Name: "engine", Usage: "HTTP engine: std (net/http, everything: the default), fast (fasthttp, HTTP/1.1 only, less CPU per attempt), loop (one event loop per client group, plain HTTP/1.1 on Linux, least CPU) or auto (the leanest that can do what the run asks) (profile: transport.engine)"},
	}
}

// withTransportFlags returns prof with the transport flags laid over its transport section,
// so that the run, and the profile its results header records, use both.
func withTransportFlags(c *cli.Context, prof *profiles.Profile) (*profiles.Profile, error) {
	o := profiles.Transport{
		H2C:        c.Bool("h2c"),
		ConnectTo:  c.StringSlice("connect-to"),
		Proxy:      c.String("proxy"),
		UnixSocket: c.String("unix-socket"),
		Engine:     c.String("engine"),
	}
	if c.Bool("http1") {
		no := false
		o.HTTP2 = &no
	}
	tl := profiles.TLS{
		CA:         c.StringSlice("ca"),
		Cert:       c.String("cert"),
		Key:        c.String("key"),
		ServerName: c.String("server-name"),
		Insecure:   c.Bool("insecure"),
		MinVersion: c.String("tls-min-version"),
	}
	if len(tl.CA) > 0 || tl.Cert != "" || tl.Key != "" || tl.ServerName != "" || tl.Insecure || tl.MinVersion != "" {
		o.TLS = &tl
	}
	o.Preconnect = c.Int("preconnect")
	q, err := prof.WithTransport(o)
	if err != nil {
		// Named by profile key; the flags' help names the key each one sets.
		return nil, usageError("profile %s with the transport flags: %v", prof.Name, err)
	}
	if c.IsSet("preconnect") && o.Preconnect == 0 && q.Transport != nil {
		q.Transport.Preconnect = 0 // --preconnect 0 turns a profile's off
	}
	return q, nil
}

// warnInsecure says, before anything is sent, that the run will not verify the target's
// certificate: a run against an impostor would look like a run against the target.
func warnInsecure(c *cli.Context, prof *profiles.Profile) {
	if prof.Transport.Insecure() {
		fmt.Fprintln(c.App.ErrWriter, "stormtest: warning: TLS certificates are NOT verified (--insecure / transport.tls.insecure); the results header records it")
	}
}
