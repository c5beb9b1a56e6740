package capacity

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestStateNeverStoresCredentials: the state file and the result it feeds carry the target
// without its userinfo, whatever URL the caller passes, and a resumed search still matches.
func TestStateNeverStoresCredentials(t *testing.T) {
	cases := []struct{ name, target, want string }{
		{"password", "http://alice:s3cretpass@127.0.0.1:8080/", "http://xxxxx@127.0.0.1:8080/"},
		{"user only", "http://alice@127.0.0.1:8080/", "http://xxxxx@127.0.0.1:8080/"},
		{"none", "http://127.0.0.1:8080/", "http://127.0.0.1:8080/"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "state.json")
			s, err := LoadState(path, tc.target, "digest")
			if err != nil {
				t.Fatal(err)
			}
			if s.Target != tc.want {
				t.Errorf("state target %q, want %q", s.Target, tc.want)
			}
			if err := s.Save(path); err != nil {
				t.Fatal(err)
			}
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if strings.Contains(string(data), "s3cretpass") || strings.Contains(string(data), "alice") {
				t.Errorf("state file holds the credentials:\n%s", data)
			}
			if _, err := LoadState(path, tc.target, "digest"); err != nil {
				t.Errorf("resuming with the same target: %v", err)
			}
			_, err = LoadState(path, "http://bob:0ther@127.0.0.2:8080/", "digest")
			if !errors.Is(err, ErrStateMismatch) || strings.Contains(err.Error(), "0ther") {
				t.Errorf("another target: %v, want a mismatch without its password", err)
			}
		})
	}
}

// TestStateSaveIsShareable: the state is written whole with mode 0644, like every file
// stormtest writes (it holds nothing secret), replacing an older one and leaving no temporary.
func TestStateSaveIsShareable(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "state.json")
	if err := os.WriteFile(path, []byte("an older state"), 0o600); err != nil {
		t.Fatal(err)
	}
	s := &State{Version: stateVersion, Target: "http://127.0.0.1:8080/", Profile: "digest", Probes: map[string]StoredProbe{}}
	if err := s.Save(path); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o644 {
		t.Errorf("state mode %v (%v), want 0644", fi.Mode(), err)
	}
	if _, err := LoadState(path, "http://127.0.0.1:8080/", "digest"); err != nil {
		t.Errorf("the saved state does not load: %v", err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("%d files in the directory, want only the state", len(entries))
	}
}
