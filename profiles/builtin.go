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

// Load returns the built-in profile called nameOrPath or, when there is none, parses the
// file at that path. Built-ins win so that "stormtest run steady" never depends on what the
// working directory holds; a file named like a built-in can be given as ./steady.
//
// A file's request.body_file and request.targets_file are resolved against the file's
// directory (absolute paths are kept) and must exist: a missing one is a *ParseError on
// its line.
func Load(nameOrPath string) (*Profile, error) {
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
	if err := resolveFiles(p, w, nameOrPath); err != nil {
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

// resolveFiles makes the files p names (request.body_file, request.targets_file, the
// transport's TLS files and Unix socket) relative to the profile file's directory rather
// than to wherever stormtest runs, keeping absolute paths as given, and checks that the
// files are there now, not minutes into a run. (A socket is checked when the attack
// connects: its server may start later.)
func resolveFiles(p *Profile, w *walker, source string) error {
	type named struct {
		key  string
		name *string
	}
	files := []named{{"request.body_file", &p.Request.BodyFile}, {"request.targets_file", &p.Request.TargetsFile}}
	if t := p.Transport; t != nil {
		if t.UnixSocket != "" {
			t.UnixSocket = besideProfile(source, t.UnixSocket)
		}
		if t.TLS != nil {
			for i := range t.TLS.CA {
				files = append(files, named{fmt.Sprintf("transport.tls.ca[%d]", i), &t.TLS.CA[i]})
			}
			files = append(files, named{"transport.tls.cert", &t.TLS.Cert}, named{"transport.tls.key", &t.TLS.Key})
		}
	}
	for _, f := range files {
		if *f.name == "" {
			continue
		}
		file := besideProfile(source, *f.name)
		expected := "a readable file; a relative path is relative to the profile's directory"
		var problem string
		switch info, err := os.Stat(file); {
		case errors.Is(err, fs.ErrNotExist):
			problem = fmt.Sprintf("%s: no such file", file)
		case err != nil:
			problem = strings.Join(strings.Fields(err.Error()), " ")
		case info.IsDir():
			problem = fmt.Sprintf("%s is a directory", file)
		case f.key == "request.body_file":
			// Checked now, not when the attack reads it: /dev/zero was read forever.
			if e := bodyInfoProblem(file, info); e != nil {
				problem, expected = e.problem, e.expected
			}
		case !info.Mode().IsRegular():
			problem = fmt.Sprintf("%s is not a regular file: a device or a pipe may never end", file)
		}
		if problem != "" {
			return &ParseError{Source: source, Line: max(w.lineOf(f.key), 1),
				Err: &fieldError{path: f.key, problem: problem, expected: expected}}
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
