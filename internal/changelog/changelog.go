// Package changelog keeps lynctrust's snapshots (the TrustedCACerts of every
// collection a change touches, taken before the change) and its journal (one
// JSON line per change). Neither ever holds a password.
package changelog

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"time"

	"github.com/lynctrust/lynctrust/psremote"
)

// Dir is where snapshots and the journal live: LYNCTRUST_STATE_DIR, else the
// user's state directory (XDG_STATE_HOME or ~/.local/state on Unix,
// %LOCALAPPDATA% on Windows, ~/Library/Application Support on macOS).
func Dir() (string, error) {
	if d := os.Getenv("LYNCTRUST_STATE_DIR"); d != "" {
		return d, nil
	}
	return defaultDir()
}

func defaultDir() (string, error) {
	switch runtime.GOOS {
	case "windows":
		if d := os.Getenv("LOCALAPPDATA"); d != "" {
			return filepath.Join(d, "lynctrust"), nil
		}
	case "darwin":
		if h, err := os.UserHomeDir(); err == nil {
			return filepath.Join(h, "Library", "Application Support", "lynctrust"), nil
		}
	default:
		if d := os.Getenv("XDG_STATE_HOME"); d != "" {
			return filepath.Join(d, "lynctrust"), nil
		}
		if h, err := os.UserHomeDir(); err == nil {
			return filepath.Join(h, ".local", "state", "lynctrust"), nil
		}
	}
	return "", errors.New("no state directory: set LYNCTRUST_STATE_DIR")
}

// Snapshot is the state before a change.
type Snapshot struct {
	Tool     string                                 `json:"tool_version"`
	Time     time.Time                              `json:"time"`
	Operator string                                 `json:"operator"`
	Server   string                                 `json:"server"`
	Command  string                                 `json:"command"`
	Lists    map[psremote.Identity][]psremote.Entry `json:"trusted_ca_certs"`
	Path     string                                 `json:"path,omitempty"`
}

// Operator is who runs lynctrust: the WinRM account and this machine.
func Operator(user string) string {
	host, _ := os.Hostname()
	return user + " on " + host
}

// Save writes a snapshot in dir and returns its path. It is written to a
// temporary file and renamed, so a snapshot on disk is always whole.
func Save(dir string, s *Snapshot) (string, error) {
	sdir := filepath.Join(dir, "snapshots")
	if err := os.MkdirAll(sdir, 0o700); err != nil {
		return "", fmt.Errorf("creating %s: %w", sdir, err)
	}
	name := fmt.Sprintf("%s-%s-%s.json", s.Time.UTC().Format("20060102T150405.000Z"), safe(s.Server), safe(s.Command))
	path := filepath.Join(sdir, name)
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return "", err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, append(b, '\n'), 0o600); err != nil {
		return "", fmt.Errorf("writing snapshot: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return "", fmt.Errorf("writing snapshot: %w", err)
	}
	s.Path = path
	return path, nil
}

func safe(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '-' {
			return r
		}
		return '_'
	}, s)
}

// Load reads a snapshot and validates every entry in it.
func Load(path string) (*Snapshot, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var s Snapshot
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, fmt.Errorf("snapshot %s: %w", path, err)
	}
	if len(s.Lists) == 0 {
		return nil, fmt.Errorf("snapshot %s holds no TrustedCACerts list", path)
	}
	for id, list := range s.Lists {
		if _, err := psremote.ParseServerIdentity(string(id)); err != nil {
			return nil, fmt.Errorf("snapshot %s: %w", path, err)
		}
		for _, e := range list {
			if _, err := psremote.ParseEntry(e.String()); err != nil {
				return nil, fmt.Errorf("snapshot %s: %w", path, err)
			}
		}
	}
	s.Path = path
	return &s, nil
}

// List lists the snapshots in dir, newest first.
func List(dir string) ([]*Snapshot, error) {
	files, err := filepath.Glob(filepath.Join(dir, "snapshots", "*.json"))
	if err != nil {
		return nil, err
	}
	var out []*Snapshot
	for _, f := range files {
		s, err := Load(f)
		if err != nil {
			continue
		}
		out = append(out, s)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Time.After(out[j].Time) })
	return out, nil
}

// Entry is one journal line.
type Entry struct {
	Time     time.Time                              `json:"time"`
	Operator string                                 `json:"operator"`
	Server   string                                 `json:"server"`
	Command  string                                 `json:"command"`
	Result   string                                 `json:"result"` // changed, unchanged, conflict, failed, unverified
	Snapshot string                                 `json:"snapshot,omitempty"`
	Before   map[psremote.Identity][]psremote.Entry `json:"before,omitempty"`
	After    map[psremote.Identity][]psremote.Entry `json:"after,omitempty"`
	Message  string                                 `json:"message,omitempty"`
}

// Append adds a line to the journal (JSON Lines).
func Append(dir string, e Entry) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	b, err := json.Marshal(e)
	if err != nil {
		return err
	}
	f, err := os.OpenFile(filepath.Join(dir, "journal.jsonl"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		return fmt.Errorf("opening the journal: %w", err)
	}
	defer f.Close()
	if _, err := f.Write(append(b, '\n')); err != nil {
		return fmt.Errorf("writing the journal: %w", err)
	}
	return f.Sync()
}

// Read reads the journal, oldest first.
func Read(dir string) ([]Entry, error) {
	f, err := os.Open(filepath.Join(dir, "journal.jsonl"))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []Entry
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for n := 1; sc.Scan(); n++ {
		var e Entry
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			return out, fmt.Errorf("journal line %d: %w", n, err)
		}
		out = append(out, e)
	}
	return out, sc.Err()
}
