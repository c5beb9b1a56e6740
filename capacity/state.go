package capacity

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"time"

	"github.com/stormtest/stormtest/attack"
	"github.com/stormtest/stormtest/internal/atomicfile"
)

// stateVersion is bumped when the meaning of a stored probe changes, so an old file is
// refused rather than misread.
const stateVersion = 1

// State is what a search has measured so far, keyed by Probe.Key. The search is a
// deterministic function of the outcomes it sees, so replaying it with a State walks the same
// path and runs only the probes the State does not hold.
type State struct {
	Version int `json:"version"`
	// Target and Profile identify what was measured; Profile is a digest of the profile's
	// clients, SLO and request, the parts a probe uses.
	Target  string    `json:"target"`
	Profile string    `json:"profile"`
	Updated time.Time `json:"updated"`
	// Probes are the completed probes, by key.
	Probes map[string]StoredProbe `json:"probes"`
}

// StoredProbe is one completed probe with what it measured.
type StoredProbe struct {
	Probe   Probe     `json:"probe"`
	Outcome Outcome   `json:"outcome"`
	At      time.Time `json:"at"`
}

// NewState is an empty state for a target and profile digest.
// The target is stored without its userinfo (attack.RedactURL): a password in the URL must
// not end up in a state file, nor in the result and report built from it.
func NewState(target, profile string) *State {
	return &State{Version: stateVersion, Target: attack.RedactURL(target, nil), Profile: profile, Probes: map[string]StoredProbe{}}
}

// ErrStateMismatch is returned by LoadState for a state file of another target or profile.
var ErrStateMismatch = errors.New("state file belongs to another search")

// LoadState reads the state file at path for target and profile. A missing file gives an
// empty state; a file written for another target or profile is refused, because its probes
// measured something else.
func LoadState(path, target, profile string) (*State, error) {
	target = attack.RedactURL(target, nil) // as NewState stores it
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return NewState(target, profile), nil
	}
	if err != nil {
		return nil, fmt.Errorf("state file: %w", err)
	}
	var s State
	if err := json.Unmarshal(data, &s); err != nil {
		return nil, fmt.Errorf("state file %s: not a capacity state file: %w", path, err)
	}
	switch {
	case s.Version != stateVersion:
		return nil, fmt.Errorf("state file %s: version %d, this stormtest writes %d: %w", path, s.Version, stateVersion, ErrStateMismatch)
	case s.Target != target:
		return nil, fmt.Errorf("state file %s: %w: it measured target %s, not %s (use another --state file)", path, ErrStateMismatch, attack.RedactURL(s.Target, nil), target)
	case s.Profile != profile:
		return nil, fmt.Errorf("state file %s: %w: it measured another profile (clients, SLO or request differ; use another --state file)", path, ErrStateMismatch)
	}
	if s.Probes == nil {
		s.Probes = map[string]StoredProbe{}
	}
	return &s, nil
}

// Save writes the state to path whole (atomicfile: a temporary file renamed over it), so that
// an interruption while saving leaves the previous state intact.
func (s *State) Save(path string) error {
	s.Updated = time.Now().UTC()
	data, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return fmt.Errorf("state file: %w", err)
	}
	// 0644 like every file stormtest writes: the state holds the redacted target and a
	// digest of the profile, nothing secret.
	err = atomicfile.Write(path, func(w io.Writer) error {
		_, err := w.Write(append(data, '\n'))
		return err
	})
	if err != nil {
		return fmt.Errorf("state file %s: %w", path, err)
	}
	return nil
}

func (s *State) lookup(p Probe) (Outcome, bool) {
	sp, ok := s.Probes[p.Key()]
	return sp.Outcome, ok
}

func (s *State) add(p Probe, o Outcome, at time.Time) {
	s.Probes[p.Key()] = StoredProbe{Probe: p, Outcome: o, At: at.UTC()}
}
