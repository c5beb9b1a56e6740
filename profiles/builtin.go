package profiles

import (
	"embed"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"github.com/stormtest/stormtest/internal/envvar"
)

// builtinFS holds the built-in profiles, one YAML file per profile, named after it.
//
//go:embed builtin/*.yaml
var builtinFS embed.FS

// BuiltinNames lists the built-in profiles, sorted.
func BuiltinNames() []string {
	entries, err := fs.ReadDir(builtinFS, "builtin")
	if err != nil {
		// The directory is embedded at build time; it cannot be missing.
		panic(fmt.Sprintf("profiles: embedded built-ins unreadable: %v", err))
	}
	var names []string
	for _, e := range entries {
		if name, ok := strings.CutSuffix(e.Name(), ".yaml"); ok {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	return names
}

// Builtin returns a fresh copy of the named built-in profile; callers may modify it. It
// panics if an embedded file does not parse, which the package's tests rule out.
func Builtin(name string) (*Profile, bool) {
	p, err := builtin(name)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, false
	}
	if err != nil {
		panic(fmt.Sprintf("profiles: %v", err))
	}
	return p, true
}

func builtin(name string) (*Profile, error) {
	if !slices.Contains(BuiltinNames(), name) {
		return nil, fs.ErrNotExist
	}
	file := path.Join("builtin", name+".yaml")
	data, err := builtinFS.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("built-in profile %q: %w", name, err)
	}
	return Parse(data, "builtin:"+name+".yaml")
}

// Load is LoadEnv with an empty environment: a profile that references a variable (${NAME})
// is refused as unset. Commands that run a profile call LoadEnv with the process's
// environment.
func Load(nameOrPath string) (*Profile, error) {
	return LoadEnv(nameOrPath, nil)
}

// LoadEnv returns the built-in profile called nameOrPath or, when there is none, parses the
// file at that path. Built-ins win so that "stormtest run steady" never depends on what the
// working directory holds; a file named like a built-in can be given as ./steady.
//
// Every ${NAME} the request references must be set in env: an unset one is a *ParseError on
// its line. Header values and paths stay as written (the attack expands them, so that the
// results file never holds their values); the file names body_file and targets_file are
// expanded here, resolved against the file's directory (absolute paths are kept), and must
// exist: a missing one is a *ParseError on its line.
func LoadEnv(nameOrPath string, env envvar.Lookup) (*Profile, error) {
	if p, err := builtin(nameOrPath); !errors.Is(err, fs.ErrNotExist) {
		return p, err
	}
	data, err := readProfile(nameOrPath)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("unknown profile %q: not a built-in (%s) and no such file",
			nameOrPath, strings.Join(BuiltinNames(), ", "))
	}
	if err != nil {
		return nil, fmt.Errorf("load profile: %w", err)
	}
	p, w, err := parse(data, nameOrPath)
	if err != nil {
		return nil, err
	}
	if ferr := p.Request.checkEnv(env); ferr != nil {
		return nil, &ParseError{Source: nameOrPath, Line: max(w.lineOf(ferr.path), 1), Err: ferr}
	}
	if err := resolveFiles(p, w, nameOrPath, env); err != nil {
		return nil, err
	}
	return p, nil
}

// readProfile reads a profile file through a limit of one byte past MaxProfileBytes, which
// parse then refuses: /dev/zero or a runaway pipe cannot make it read forever.
func readProfile(name string) ([]byte, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close() // read-only: a close error loses nothing
	return io.ReadAll(io.LimitReader(f, MaxProfileBytes+1))
}

// resolveFiles makes the files p names (request.body_file, request.targets_file, each
// request entry's body_file, the transport's TLS files and Unix socket) relative to the profile file's directory rather than to wherever stormtest
// runs, keeping absolute paths as given, and checks that they are there now, not minutes
// into a run. The bodies together are bounded by MaxBodyBytes (each distinct file counted
// once), because the attack holds them all in memory. (A socket is checked when the attack
// connects: its server may start later.)
func resolveFiles(p *Profile, w *walker, source string, env envvar.Lookup) error {
	type fileField struct {
		key  string
		name *string
		body bool
	}
	files := []fileField{{"request.body_file", &p.Request.BodyFile, true}, {"request.targets_file", &p.Request.TargetsFile, false}}
	for i := range p.Request.Requests {
		files = append(files, fileField{fmt.Sprintf("request.requests[%d].body_file", i), &p.Request.Requests[i].BodyFile, true})
	}
	if t := p.Transport; t != nil {
		if t.UnixSocket != "" {
			t.UnixSocket = besideProfile(source, t.UnixSocket)
		}
		if t.TLS != nil {
			for i := range t.TLS.CA {
				files = append(files, fileField{fmt.Sprintf("transport.tls.ca[%d]", i), &t.TLS.CA[i], false})
			}
			files = append(files, fileField{"transport.tls.cert", &t.TLS.Cert, false}, fileField{"transport.tls.key", &t.TLS.Key, false})
		}
	}
	var total int64
	seen := map[string]bool{}
	for _, f := range files {
		if *f.name == "" {
			continue
		}
		fail := func(problem, expected string) error {
			return &ParseError{Source: source, Line: max(w.lineOf(f.key), 1),
				Err: &fieldError{path: f.key, problem: problem, expected: expected}}
		}
		file, err := envvar.Expand(*f.name, env)
		if err != nil {
			return fail(err.Error(), "")
		}
		file = besideProfile(source, file)
		expected := "a readable file; a relative path is relative to the profile's directory"
		var problem string
		switch info, err := os.Stat(file); {
		case errors.Is(err, fs.ErrNotExist):
			problem = fmt.Sprintf("%s: no such file", file)
		case err != nil:
			problem = strings.Join(strings.Fields(err.Error()), " ")
		case info.IsDir():
			problem = fmt.Sprintf("%s is a directory", file)
		case f.body:
			// Checked now, not when the attack reads it: /dev/zero was read forever.
			if e := bodyInfoProblem(file, info); e != nil {
				problem, expected = e.problem, e.expected
			} else if !seen[file] {
				seen[file] = true
				total += info.Size()
				if total > MaxBodyBytes {
					problem = fmt.Sprintf("the request bodies add up to %d bytes, above the maximum %d", total, MaxBodyBytes)
					expected = fmt.Sprintf("bodies of at most %d bytes together (each file counted once): MaxBodyBytes", MaxBodyBytes) + boundsNote
				}
			}
		case !info.Mode().IsRegular():
			problem = fmt.Sprintf("%s is not a regular file: a device or a pipe may never end", file)
		}
		if problem != "" {
			return fail(problem, expected)
		}
		*f.name = file
	}
	return nil
}

// besideProfile resolves a path a profile file names against the file's directory.
func besideProfile(source, file string) string {
	if filepath.IsAbs(file) {
		return file
	}
	file = filepath.Join(filepath.Dir(source), file)
	if abs, err := filepath.Abs(file); err == nil {
		file = abs
	}
	return file
}
