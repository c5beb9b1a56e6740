package main

import (
	"strings"

	"github.com/urfave/cli/v2"
)

// reorderArgs moves every flag of a command before its positional arguments, so that
// `stormtest report run.st -o out.html` means what it says: urfave/cli/v2 (like Go's flag
// package) stops reading flags at the first positional argument and would take "-o" and
// "out.html" for more files. Whether a flag consumes the next argument is read from the
// command's own flag definitions (cli.DocGenerationFlag.TakesValue), so a boolean flag never
// swallows a file name. "--" still ends the flags: what follows it stays positional, in
// order. Each flag is rewritten to its first name (-H becomes --header), because cli refuses
// two spellings of one flag in one command line ("Cannot use two forms of the same flag").
//
// --help (or -h) anywhere before "--" asks for the command's help, whatever else is there.
// Unknown flags are left among the flags, for cli to report; args[0] is the program.
func reorderArgs(app *cli.App, args []string) []string {
	if len(args) < 2 {
		return args
	}
	out := []string{args[0]}
	rest := args[1:]
	commands := app.Commands
	var flags []cli.Flag = app.Flags
	// Descend through the command and its subcommands; flags before a subcommand belong to
	// its parent and are kept in place.
	for {
		i := 0
		for i < len(rest) && strings.HasPrefix(rest[i], "-") && rest[i] != "--" {
			f := lookupFlag(flags, rest[i])
			i++
			if f != nil && takesValue(f) && !strings.Contains(rest[i-1], "=") && i < len(rest) {
				i++
			}
		}
		var cmd *cli.Command
		if i < len(rest) {
			cmd = findCommand(commands, rest[i])
		}
		switch {
		case cmd == nil && len(out) == 1:
			return append(out, rest...) // no command: cli says what is wrong
		case cmd == nil:
			return append(out, reorderFlags(flags, rest)...) // this command's own arguments
		case cmd.SkipFlagParsing:
			return append(append(out, rest[:i+1]...), rest[i+1:]...)
		}
		out = append(out, rest[:i+1]...)
		rest = rest[i+1:]
		commands, flags = cmd.Subcommands, cmd.Flags
	}
}

// reorderFlags puts the flags of args (with their values) first, each under its first name,
// then the positional arguments in their order.
func reorderFlags(flags []cli.Flag, args []string) []string {
	var named, positional []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			positional = append(positional, args[i:]...)
			break
		}
		if len(a) < 2 || a[0] != '-' {
			positional = append(positional, a)
			continue
		}
		f := lookupFlag(flags, a)
		if f == nil {
			named = append(named, a)
			continue
		}
		if f == cli.HelpFlag {
			// "report run.st --help" asks for report's help; before the file, cli would
			// take the file for a help topic.
			return []string{"--help"}
		}
		name, value, hasValue := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if canonical := f.Names()[0]; canonical != name {
			a = "--" + canonical
			if hasValue {
				a += "=" + value
			}
		}
		named = append(named, a)
		if takesValue(f) && !hasValue && i+1 < len(args) {
			i++
			named = append(named, args[i])
		}
	}
	if len(positional) > 0 && positional[0] != "--" && hasDash(positional) {
		// A positional argument that looks like a flag ("-" for stdin is fine) keeps its
		// meaning only after "--".
		positional = append([]string{"--"}, positional...)
	}
	return append(named, positional...)
}

func hasDash(args []string) bool {
	for _, a := range args {
		if len(a) > 1 && a[0] == '-' {
			return true
		}
	}
	return false
}

// lookupFlag finds the flag an argument such as "-H", "--header" or "--out=x" names, among
// flags and the help flag cli adds to every command.
func lookupFlag(flags []cli.Flag, arg string) cli.Flag {
	name, _, _ := strings.Cut(strings.TrimLeft(arg, "-"), "=")
	for _, f := range append(flags, cli.HelpFlag) {
		for _, n := range f.Names() {
			if n == name {
				return f
			}
		}
	}
	return nil
}

// takesValue reports whether a flag consumes the next argument when given without "=".
func takesValue(f cli.Flag) bool {
	if d, ok := f.(cli.DocGenerationFlag); ok {
		return d.TakesValue()
	}
	return false
}

func findCommand(commands []*cli.Command, name string) *cli.Command {
	for _, c := range commands {
		if c.Name == name || slicesContains(c.Aliases, name) {
			return c
		}
	}
	return nil
}

func slicesContains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}
