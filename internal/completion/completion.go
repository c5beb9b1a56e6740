// Package completion answers shell completion for a urfave/cli/v2 application: the scripts
// for bash, zsh and fish that `stormtest completion SHELL` prints, and the candidates those
// scripts ask for by running `stormtest __complete -- WORDS...` on every Tab.
//
// The candidates come from the application's own command and flag definitions, so a new
// flag completes without touching this package; values of chosen flags come from Values
// (the CLI maps --profile to the built-in profile names). When there is nothing to offer,
// nothing is printed and the shell falls back to file names.
package completion

import (
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/urfave/cli/v2"
)

// HiddenCommand is the command the scripts run; it is not shown in help.
const HiddenCommand = "__complete"

// Values lists the values a flag's argument may take, by flag name (its first name).
type Values map[string]func() []string

// Candidates returns what may complete the last of words, the command line after the
// program name (the last word is the one being typed, possibly empty), one per entry.
func Candidates(app *cli.App, values Values, words []string) []string {
	if len(words) == 0 {
		words = []string{""}
	}
	cur := words[len(words)-1]
	prev := words[:len(words)-1]
	// bash splits "--profile=mon" at "=" (COMP_WORDBREAKS): ["--profile", "=", "mon"].
	if len(prev) >= 2 && prev[len(prev)-1] == "=" {
		prev = prev[:len(prev)-1]
		prev[len(prev)-1] += "="
	}

	commands, flags := app.Commands, app.Flags
	var cmd *cli.Command
	afterDashes := false
	for i := 0; i < len(prev); i++ {
		w := prev[i]
		switch {
		case w == "--":
			afterDashes = true
		case strings.HasPrefix(w, "-") && !afterDashes:
			if f := lookup(flags, w); f != nil && takesValue(f) && !strings.Contains(w, "=") {
				i++ // its value
			}
		case cmd == nil || len(cmd.Subcommands) > 0:
			if c := find(commands, w); c != nil {
				cmd, commands, flags = c, c.Subcommands, c.Flags
			}
		}
	}

	// The value of a flag: after "--profile" or in "--profile=mon".
	if name, value, ok := strings.Cut(cur, "="); ok && strings.HasPrefix(name, "--") {
		if f := lookup(flags, name); f != nil {
			return prefixed(name+"=", match(valuesOf(values, f), value))
		}
		return nil
	}
	if len(prev) > 0 {
		last := prev[len(prev)-1]
		if strings.HasSuffix(last, "=") {
			if f := lookup(flags, strings.TrimSuffix(last, "=")); f != nil {
				return match(valuesOf(values, f), cur)
			}
		}
		if strings.HasPrefix(last, "-") && !strings.Contains(last, "=") && !afterDashes {
			if f := lookup(flags, last); f != nil && takesValue(f) {
				return match(valuesOf(values, f), cur)
			}
		}
	}
	if strings.HasPrefix(cur, "-") && !afterDashes {
		var out []string
		for _, f := range append(slices.Clone(flags), cli.HelpFlag) {
			for _, n := range f.Names() {
				if len(n) == 1 {
					out = append(out, "-"+n)
				} else {
					out = append(out, "--"+n)
				}
			}
		}
		return match(out, cur)
	}
	if cmd == nil || len(cmd.Subcommands) > 0 {
		var out []string
		for _, c := range commands {
			if !c.Hidden {
				out = append(out, c.Name)
			}
		}
		return match(out, cur)
	}
	return nil // positional arguments are files: the shell completes those
}

func valuesOf(values Values, f cli.Flag) []string {
	if fn := values[f.Names()[0]]; fn != nil {
		return fn()
	}
	return nil
}

func match(options []string, prefix string) []string {
	var out []string
	for _, o := range options {
		if strings.HasPrefix(o, prefix) {
			out = append(out, o)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

func prefixed(p string, options []string) []string {
	for i := range options {
		options[i] = p + options[i]
	}
	return options
}

func lookup(flags []cli.Flag, arg string) cli.Flag {
	name, _, _ := strings.Cut(strings.TrimLeft(arg, "-"), "=")
	for _, f := range append(slices.Clone(flags), cli.HelpFlag) {
		if slices.Contains(f.Names(), name) {
			return f
		}
	}
	return nil
}

func takesValue(f cli.Flag) bool {
	d, ok := f.(cli.DocGenerationFlag)
	return ok && d.TakesValue()
}

func find(commands []*cli.Command, name string) *cli.Command {
	for _, c := range commands {
		if c.Name == name || slices.Contains(c.Aliases, name) {
			return c
		}
	}
	return nil
}

// Shells lists the shells Script writes for.
var Shells = []string{"bash", "zsh", "fish"}

// Script writes the completion script for shell, for a program called prog (which must be
// on the PATH when the shell completes).
func Script(w io.Writer, shell, prog string) error {
	var s string
	switch shell {
	case "bash":
		s = bashScript
	case "zsh":
		s = zshScript
	case "fish":
		s = fishScript
	default:
		return fmt.Errorf("unknown shell %q (expected %s)", shell, strings.Join(Shells, ", "))
	}
	_, err := io.WriteString(w, strings.NewReplacer("PROG", prog, "HIDDEN", HiddenCommand).Replace(s))
	return err
}

// The scripts pass the words up to the cursor and let the shell complete file names when
// nothing is printed.
const bashScript = `# bash completion for PROG; load it with: source <(PROG completion bash)
_PROG_complete() {
    local IFS=$'\n'
    COMPREPLY=($(PROG HIDDEN -- "${COMP_WORDS[@]:1:COMP_CWORD}" 2>/dev/null))
}
complete -o default -F _PROG_complete PROG
`

const zshScript = `#compdef PROG
# zsh completion for PROG; load it with: source <(PROG completion zsh)
# (after compinit), or save it as _PROG in a directory of $fpath.
_PROG() {
    local -a candidates
    candidates=("${(@f)$(PROG HIDDEN -- "${(@)words[2,CURRENT]}" 2>/dev/null)}")
    if (( ${#candidates} )) && [[ -n ${candidates[1]} ]]; then
        compadd -S '' -- "${candidates[@]}"
    else
        _files
    fi
}
if [[ ${funcstack[1]} == _PROG ]]; then
    _PROG "$@"
else
    compdef _PROG PROG
fi
`

const fishScript = `# fish completion for PROG; load it with: PROG completion fish | source
# or save it as ~/.config/fish/completions/PROG.fish
function __PROG_complete
    set -l words (commandline -opc) (commandline -ct)
    PROG HIDDEN -- $words[2..-1] 2>/dev/null
end
complete -c PROG -a '(__PROG_complete)'
`
