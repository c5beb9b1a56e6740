//go:build tools

// Package tools pins the libraries stormtest's packages are about to use, so that go.mod lists
// them before any package imports them.
package tools

import (
	_ "github.com/HdrHistogram/hdrhistogram-go"
	_ "github.com/tsenart/vegeta/v12/lib"
	_ "github.com/urfave/cli/v2"
	_ "gopkg.in/yaml.v3"
)
