package main

import (
	"fmt"
	"os"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/stormtest/stormtest/profiles"
)

func profilesCommand() *cli.Command {
	return &cli.Command{
		Name:  "profiles",
		Usage: "list, show and validate traffic profiles",
		Description: "Example:\n" +
			"  stormtest profiles                      # list the built-ins\n" +
			"  stormtest profiles show monday-morning > mine.yaml\n" +
			"  stormtest profiles validate mine.yaml",
		Action: func(c *cli.Context) error {
			for _, name := range profiles.BuiltinNames() {
				p, _ := profiles.Builtin(name)
				fmt.Fprintf(c.App.Writer, "%-16s %6s  %s\n", name, p.Schedule().Duration(), firstSentence(p.Description))
			}
			return nil
		},
		Subcommands: []*cli.Command{
			{
				Name:      "show",
				Usage:     "print a profile as YAML that can be edited and passed back with --profile FILE",
				ArgsUsage: "NAME|FILE",
				Flags: []cli.Flag{
					&cli.Float64Flag{Name: "rate-scale", Value: 1, Usage: "show the profile with every rate multiplied"},
					&cli.Float64Flag{Name: "time-scale", Value: 1, Usage: "show the profile with every phase duration multiplied"},
				},
				Action: func(c *cli.Context) error {
					if c.NArg() != 1 {
						return usageError("profiles show: give one profile name or file")
					}
					p, err := loadScaled(c, c.Args().First())
					if err != nil {
						return err
					}
					data, err := p.Marshal()
					if err != nil {
						return cli.Exit(err.Error(), exitFail)
					}
					_, err = c.App.Writer.Write(data)
					return err
				},
			},
			{
				Name:      "validate",
				Usage:     "check profile files; exit 2 with the first problem of each",
				ArgsUsage: "FILE...",
				Action: func(c *cli.Context) error {
					if c.NArg() == 0 {
						return usageError("profiles validate: no file given")
					}
					for _, path := range c.Args().Slice() {
						p, err := profiles.LoadEnv(path, os.LookupEnv)
						if err != nil {
							return usageError("%v", err)
						}
						load := fmt.Sprintf("%.0f first attempts", p.Schedule().Total())
						if p.ClosedLoop() {
							load = fmt.Sprintf("up to %d users", p.PeakUsers())
						}
						fmt.Fprintf(c.App.Writer, "%s: ok (%s, %d phases, %s, %s)\n",
							path, p.Name, len(p.Phases), p.Schedule().Duration(), load)
					}
					return nil
				},
			},
		},
	}
}

// firstSentence keeps a listing to one line per profile.
func firstSentence(s string) string {
	if i := strings.Index(s, ". "); i >= 0 {
		return s[:i+1]
	}
	return s
}
