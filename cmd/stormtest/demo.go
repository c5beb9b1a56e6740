package main

import (
	"github.com/urfave/cli/v2"

	"github.com/stormtest/stormtest/demo"
)

func demoCommand() *cli.Command {
	return &cli.Command{
		Name:  "demo",
		Usage: "reproduce a Monday-morning metastable outage on the built-in target, then show retries were why",
		Description: "Starts two built-in targets on loopback with half their database pool applied, drives the\n" +
			"monday-morning profile against one with retrying clients and against the other with clients\n" +
			"that do not retry, and analyses both: the first stays down after the peak (metastable), the\n" +
			"second recovers (overloaded). Takes about 35 seconds.\n\n" +
			"Example:\n" +
			"  stormtest demo --dir out/demo",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "dir", Value: "out/demo", Usage: "where the results files go"},
		},
		Action: func(c *cli.Context) error {
			_, err := demo.Run(c.Context, demo.Options{Dir: c.String("dir")}, c.App.Writer)
			if err != nil {
				return cli.Exit(err.Error(), exitFail)
			}
			return nil
		},
	}
}
