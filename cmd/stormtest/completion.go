package main

import (
	"fmt"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/stormtest/stormtest/internal/completion"
	"github.com/stormtest/stormtest/profiles"
)

func completionCommand() *cli.Command {
	return &cli.Command{
		Name:      "completion",
		Usage:     "print a shell completion script (bash, zsh or fish)",
		ArgsUsage: "bash|zsh|fish",
		Description: "Completes commands, flags, and the built-in profile names after --profile; file names\n" +
			"elsewhere. The script runs stormtest, which must be on the PATH.\n\n" +
			"Examples:\n" +
			"  source <(stormtest completion bash)          # in ~/.bashrc\n" +
			"  source <(stormtest completion zsh)           # in ~/.zshrc, after compinit\n" +
			"  stormtest completion fish > ~/.config/fish/completions/stormtest.fish",
		Action: func(c *cli.Context) error {
			if c.NArg() != 1 {
				return usageError("completion: name one shell: %s", strings.Join(completion.Shells, ", "))
			}
			if err := completion.Script(c.App.Writer, c.Args().First(), c.App.Name); err != nil {
				return usageError("completion: %v", err)
			}
			return nil
		},
	}
}

// completeCommand is what the scripts run on every Tab: the candidates for the last word,
// one per line.
func completeCommand() *cli.Command {
	return &cli.Command{
		Name:            completion.HiddenCommand,
		Hidden:          true,
		SkipFlagParsing: true,
		Action: func(c *cli.Context) error {
			words := c.Args().Slice()
			if len(words) > 0 && words[0] == "--" {
				words = words[1:]
			}
			values := completion.Values{"profile": profiles.BuiltinNames}
			for _, s := range completion.Candidates(c.App, values, words) {
				fmt.Fprintln(c.App.Writer, s)
			}
			return nil
		},
	}
}
