// Package changelog keeps lynctrust's snapshots (the TrustedCACerts of every
// collection a change touches, taken before the change) and its journal (one
// JSON line per change). Neither ever holds a password.
package changelog

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"time"

	"github.com/lynctrust/lynctrust/lync"
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
	Tool     string    `json:"tool_version"`
	Time     time.Time `json:"time"`
	Operator string    `json:"operator"`
	Server   string    `json:"server"`
	Command  string    `json:"command"`
	// Deployment names the pools of the deployment the snapshot was taken
	// in, so that rollback can tell it from another one. Snapshots of
	// older versions lack it.
	Deployment []string                       `json:"deployment,omitempty"`
	Lists      map[lync.Identity][]lync.Entry `json:"trusted_ca_certs"`
	// Installs are the certificates the change is about to put into
	// servers' stores, so that rollback can take them out again.
	Installs []Install `json:"installs,omitempty"`
	Path     string    `json:"path,omitempty"`
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
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return "", err
	}
	path := freeName(sdir, Name(s))
	tmp := path + ".tmp"
	if err := writeSynced(tmp, append(b, '\n')); err != nil {
		os.Remove(tmp)
		return "", fmt.Errorf("writing snapshot: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return "", fmt.Errorf("writing snapshot: %w", err)
	}
	if err := syncDir(sdir); err != nil {
		return "", fmt.Errorf("writing snapshot: %w", err)
	}
	s.Path = path
	return path, nil
}

// writeSynced writes a new file and flushes it to the disk before it
// returns: a snapshot must survive a crash or a power cut that follows the
// change it precedes.
func writeSynced(path string, b []byte) error {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// Name is a snapshot's file name, short and readable: the time (UTC), the
// server's host name, the action and the collections, as in
// 20261202T070512Z-fe01-add-Global.json. It never holds a path, so the
// snapshot of a rollback is named like any other.
func Name(s *Snapshot) string {
	host, _, _ := strings.Cut(s.Server, ".")
	action, _, _ := strings.Cut(strings.TrimSpace(s.Command), " ")
	ids := make([]string, 0, len(s.Lists))
	for id := range s.Lists {
		ids = append(ids, string(id))
	}
	sort.Strings(ids)
	coll := strings.Join(ids, "+")
	if len(ids) > 2 {
		coll = fmt.Sprintf("%s+%d-more", ids[0], len(ids)-1)
	}
	return fmt.Sprintf("%s-%s-%s-%s", s.Time.UTC().Format("20060102T150405Z"), short(safe(host), 20), short(safe(action), 10), short(safe(coll), 48))
}

// freeName is dir/name.json, or dir/name-2.json and so on when a snapshot
// of the same second, server, action and collections exists.
func freeName(dir, name string) string {
	path := filepath.Join(dir, name+".json")
	for n := 2; ; n++ {
		if _, err := os.Lstat(path); errors.Is(err, os.ErrNotExist) {
			return path
		}
		path = filepath.Join(dir, fmt.Sprintf("%s-%d.json", name, n))
	}
}

func short(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
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
		if _, err := lync.ParseServerIdentity(string(id)); err != nil {
			return nil, fmt.Errorf("snapshot %s: %w", path, err)
		}
		for _, e := range list {
			if _, err := lync.ParseEntry(e.String()); err != nil {
				return nil, fmt.Errorf("snapshot %s: %w", path, err)
			}
		}
	}
	s.Path = path
	return &s, nil
}

// List lists the snapshots in dir, newest first, and says which files it
// could not read (a file cut short or edited) without giving up on the
// others. A dir that is not a directory is an error.
func List(dir string) ([]*Snapshot, []error, error) {
	if fi, err := os.Stat(dir); err == nil && !fi.IsDir() {
		return nil, nil, fmt.Errorf("%s: not a directory", dir)
	}
	files, err := filepath.Glob(filepath.Join(dir, "snapshots", "*.json"))
	if err != nil {
		return nil, nil, err
	}
	var out []*Snapshot
	var bad []error
	for _, f := range files {
		s, err := Load(f)
		if err != nil {
			bad = append(bad, err)
			continue
		}
		out = append(out, s)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Time.After(out[j].Time) })
	return out, bad, nil
}

// Entry is one journal line.
type Entry struct {
	// ID ties a pending entry to the line that records its outcome.
	ID       string                         `json:"id,omitempty"`
	Time     time.Time                      `json:"time"`
	Operator string                         `json:"operator"`
	Server   string                         `json:"server"`
	Command  string                         `json:"command"`
	Result   string                         `json:"result"` // pending, changed, unchanged, conflict, failed, unverified, not-applied, unknown
	Snapshot string                         `json:"snapshot,omitempty"`
	Before   map[lync.Identity][]lync.Entry `json:"before,omitempty"`
	// Intended is what a pending change means the lists to hold.
	Intended map[lync.Identity][]lync.Entry `json:"intended,omitempty"`
	After    map[lync.Identity][]lync.Entry `json:"after,omitempty"`
	Installs []Install                      `json:"installs,omitempty"`
	Message  string                         `json:"message,omitempty"`
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
	path := filepath.Join(dir, "journal.jsonl")
	f, err := os.OpenFile(path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		return fmt.Errorf("opening the journal %s: %w", path, err)
	}
	if _, err := f.Write(append(b, '\n')); err != nil {
		f.Close()
		return fmt.Errorf("writing the journal %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("writing the journal %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("writing the journal %s: %w", path, err)
	}
	// The directory too, so that a journal created by this line survives.
	if err := syncDir(dir); err != nil {
		return fmt.Errorf("writing the journal %s: %w", path, err)
	}
	return nil
}

// TornLine is a journal line that does not read as an entry: a write cut
// short by a crash or a full disk, or an edit.
type TornLine struct {
	Line int
	Err  error
}

func (t TornLine) Error() string { return fmt.Sprintf("journal line %d: %v", t.Line, t.Err) }

// maxLine bounds a journal line: an entry holds a few lists of thumbprints.
const maxLine = 1 << 24

// Read reads the journal, oldest first. A line that does not read as an
// entry is skipped and returned in torn, so that one bad line hides no
// other entry.
func Read(dir string) (entries []Entry, torn []TornLine, err error) {
	f, err := os.Open(filepath.Join(dir, "journal.jsonl"))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	r := bufio.NewReader(f)
	for n := 1; ; n++ {
		line, tooLong, err := readLine(r)
		if err == io.EOF {
			return entries, torn, nil
		}
		if err != nil {
			return entries, torn, fmt.Errorf("reading the journal: %w", err)
		}
		var e Entry
		switch {
		case tooLong:
			torn = append(torn, TornLine{n, fmt.Errorf("longer than %d MB", maxLine>>20)})
		case len(bytes.TrimSpace(line)) == 0:
		default:
			if err := json.Unmarshal(line, &e); err != nil {
				torn = append(torn, TornLine{n, err})
				continue
			}
			entries = append(entries, e)
		}
	}
}

// readLine reads one line, keeping at most maxLine bytes of it.
func readLine(r *bufio.Reader) (line []byte, tooLong bool, err error) {
	for {
		chunk, err := r.ReadSlice('\n')
		if len(line)+len(chunk) > maxLine {
			tooLong = true
		} else {
			line = append(line, chunk...)
		}
		switch {
		case err == bufio.ErrBufferFull:
			continue
		case err == io.EOF && (len(line) > 0 || tooLong):
			return line, tooLong, nil
		case err != nil:
			return nil, false, err
		}
		return line, tooLong, nil
	}
}
