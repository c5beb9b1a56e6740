package profiles

import (
	"fmt"

	"gopkg.in/yaml.v3"
)

// Keys of the transport section.
var (
	transportKeys = []string{"tls", "http2", "h2c", "connect_to", "proxy", "unix_socket", "engine", "preconnect"}
	tlsKeys       = []string{"ca", "cert", "key", "server_name", "insecure", "min_version"}
)

// preconnectExpected is what transport.preconnect takes.
var preconnectExpected = fmt.Sprintf("the connections to keep open to each origin, 0 to %d", MaxPreconnect)

// boolean reads true or false, refusing "yes", 1 and the like, which YAML 1.2 does not
// take for booleans.
func boolean(n *yaml.Node, path string) (bool, *fieldError) {
	s, err := scalar(n, path, "true or false")
	if err != nil {
		return false, err
	}
	var b bool
	if s.Tag != "!!bool" || s.Decode(&b) != nil {
		return false, wrongType(path, s, "true or false")
	}
	return b, nil
}

// stringList reads a list of non-empty strings, one string standing for a list of one.
func (w *walker) stringList(n *yaml.Node, path, expected string) ([]string, *fieldError) {
	n = resolve(n)
	if n.Kind == yaml.ScalarNode {
		s, err := str(n, path, expected)
		if err != nil {
			return nil, err
		}
		return []string{s}, nil
	}
	seq, err := sequence(n, path, "a list of "+expected)
	if err != nil {
		return nil, err
	}
	return w.stringItems(seq.Content, path, expected)
}

func (w *walker) transport(n *yaml.Node) (*Transport, *fieldError) {
	const path = "transport"
	fields, err := w.mapping(n, path, transportKeys)
	if err != nil {
		return nil, err
	}
	t := &Transport{}
	for _, f := range fields {
		p := join(path, f.key)
		switch f.key {
		case "tls":
			t.TLS, err = w.tls(f.val, p)
		case "http2":
			var b bool
			if b, err = boolean(f.val, p); err == nil {
				t.HTTP2 = &b
			}
		case "h2c":
			t.H2C, err = boolean(f.val, p)
		case "connect_to":
			t.ConnectTo, err = w.stringList(f.val, p, connectToExpected)
		case "proxy":
			t.Proxy, err = str(f.val, p, "a proxy URL such as http://proxy.internal:3128, or "+ProxyNone)
		case "unix_socket":
			t.UnixSocket, err = str(f.val, p, "the path of a Unix socket")
		case "engine":
			t.Engine, err = str(f.val, p, "std, fast, loop or auto")
		case "preconnect":
			err = integer(f.val, p, preconnectExpected, &t.Preconnect)
		}
		if err != nil {
			return nil, err
		}
	}
	return t, nil
}

func (w *walker) tls(n *yaml.Node, path string) (*TLS, *fieldError) {
	fields, err := w.mapping(n, path, tlsKeys)
	if err != nil {
		return nil, err
	}
	t := &TLS{}
	for _, f := range fields {
		p := join(path, f.key)
		switch f.key {
		case "ca":
			t.CA, err = w.stringList(f.val, p, "a PEM file of a certificate authority, relative to the profile's directory")
		case "cert":
			t.Cert, err = str(f.val, p, "a PEM client certificate file, relative to the profile's directory")
		case "key":
			t.Key, err = str(f.val, p, "the PEM file of the client certificate's key, relative to the profile's directory")
		case "server_name":
			t.ServerName, err = str(f.val, p, "a host name, as on the server's certificate")
		case "insecure":
			t.Insecure, err = boolean(f.val, p)
		case "min_version":
			// 1.2 reads as a YAML float; its text is what is meant.
			var s *yaml.Node
			if s, err = scalar(f.val, p, "a TLS version: 1.0, 1.1, 1.2 or 1.3"); err == nil {
				t.MinVersion = s.Value
			}
		}
		if err != nil {
			return nil, err
		}
	}
	return t, nil
}
