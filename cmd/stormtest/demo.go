package main

import (
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/stormtest/stormtest/demo"
)

func demoCommand() *cli.Command {
	return &cli.Command{
		Name:  "demo",
		Usage: "reproduce an outage on the built-in target: --incident flow (retries, the default) or tray (a fleet's restart loop)",
		Description: "Starts two built-in targets on loopback with half their database pool applied, drives the\n" +
			"monday-morning profile against one with retrying clients and against the other with clients\n" +
			"that do not retry, and analyses both: the first stays down after the peak (metastable), the\n" +
			"second recovers (overloaded). Takes about 35 seconds.\n\n" +
			"--incident tray reproduces the second outage instead: a fleet of four instances over one\n" +
			"database with a connection limit, a steady load, and the database refusing new connections\n" +
			"for 5 s (a profile trigger). With health checks that query the database the fleet keeps\n" +
			"replacing its instances after the database is back (metastable); with health checks that\n" +
			"ask only the process, the incident's fix, it recovers (overloaded). Takes about 45 seconds.\n\n" +
			"Example:\n" +
			"  stormtest demo --dir out/demo\n" +
			"  stormtest demo --incident tray --dir out/demo-tray",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "dir", Value: "out/demo", Usage: "where the results files go"},
			&cli.StringFlag{Name: "incident", Value: demo.IncidentFlow, Usage: "which outage: " + strings.Join(demo.Incidents(), " or ")},
		},
		Action: func(c *cli.Context) error {
			var err error
			switch inc := c.String("incident"); inc {
			case demo.IncidentFlow:
				_, err = demo.Run(c.Context, demo.Options{Dir: c.String("dir")}, c.App.Writer)
			case demo.IncidentTray:
				_, err = demo.RunTray(c.Context, demo.Options{Dir: c.String("dir")}, c.App.Writer)
			default:
				return usageError("demo: unknown incident %q (expected %s)", inc, strings.Join(demo.Incidents(), " or "))
			}
			if err != nil {
				return cli.Exit(err.Error(), exitFail)
			}
			return nil
		},
	}
}
