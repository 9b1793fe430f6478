package fetch

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"
)

// State is what the agent keeps per service in <dir>/<name>/state.json, under the folder's lock.
type State struct {
	// LastSerial is the highest index serial accepted: a lower one is a replay and is refused.
	LastSerial int64 `json:"lastSerial"`
	// Bad versions are never installed or run again, with the reason they were marked.
	Bad map[string]string `json:"bad,omitempty"`
	// History lists the versions `current` pointed at, oldest first (for rollback).
	History []string `json:"history,omitempty"`
}

// Record is <dir>/<name>/<version>/.stigmer-install.json: what was installed, from where.
type Record struct {
	Name        string    `json:"name"`
	Version     string    `json:"version"`
	Platform    string    `json:"platform"`
	File        string    `json:"file"`
	SHA256      string    `json:"sha256"`
	Layout      string    `json:"layout"`
	Entrypoint  string    `json:"entrypoint"`
	Signed      bool      `json:"signed"`
	InstalledAt time.Time `json:"installedAt"`
}

const recordFile = ".stigmer-install.json"

func serviceDir(dir, name string) string { return filepath.Join(dir, name) }

// Executable is the absolute path of the program a record installed.
func (r Record) Executable(dir string) string {
	return filepath.Join(dir, r.Name, r.Version, filepath.FromSlash(r.Entrypoint))
}

// Lock is an exclusive lock on one service's folder, held by one agent at a time.
type Lock struct{ file *os.File }

// LockService takes <dir>/<name>/.lock (held while the folder changes), waiting up to wait. Another holder gives
// ErrBusy with its pid.
func LockService(dir, name string, wait time.Duration) (*Lock, error) {
	return lockFile(dir, name, ".lock", wait)
}

// LockSupervisor takes <dir>/<name>/.run.lock, held by the one agent that runs the service, for its lifetime.
func LockSupervisor(dir, name string) (*Lock, error) {
	return lockFile(dir, name, ".run.lock", 0)
}

func lockFile(dir, name, base string, wait time.Duration) (*Lock, error) {
	service := serviceDir(dir, name)
	if err := os.MkdirAll(service, 0o755); err != nil {
		return nil, installErr("cannot create %s: %v", service, err)
	}
	path := filepath.Join(service, base)
	file, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, installErr("cannot open %s: %v", path, err)
	}
	deadline := time.Now().Add(wait)
	for {
		var held bool
		held, err = tryLock(file)
		if err == nil {
			break
		}
		if !held || time.Now().After(deadline) {
			holder, _ := os.ReadFile(path)
			file.Close()
			return nil, busyErr("%s is locked by another agent (pid %s, %s): wait for it or stop it", service, strings.TrimSpace(string(holder)), base)
		}
		time.Sleep(20 * time.Millisecond)
	}
	_ = file.Truncate(0)
	_, _ = file.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	return &Lock{file: file}, nil
}

// Unlock releases the lock.
func (l *Lock) Unlock() {
	if l != nil && l.file != nil {
		unlock(l.file)
		l.file.Close()
		l.file = nil
	}
}

// ReadState reads <dir>/<name>/state.json (empty when there is none).
func ReadState(dir, name string) (State, error) {
	var state State
	data, err := os.ReadFile(filepath.Join(serviceDir(dir, name), "state.json"))
	if errors.Is(err, fs.ErrNotExist) {
		return state, nil
	}
	if err == nil {
		err = json.Unmarshal(data, &state)
	}
	if err != nil {
		return state, installErr("%s: %v", filepath.Join(serviceDir(dir, name), "state.json"), err)
	}
	return state, nil
}

func writeState(dir, name string, state State) error {
	data, _ := json.MarshalIndent(state, "", "  ")
	return writeFileAtomic(filepath.Join(serviceDir(dir, name), "state.json"), append(data, '\n'))
}

// writeFileAtomic writes a temporary file beside path, syncs it and renames it over path.
func writeFileAtomic(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".tmp-"+filepath.Base(path)+"-*")
	if err != nil {
		return installErr("cannot write %s: %v", path, err)
	}
	_, err = tmp.Write(data)
	if err == nil {
		err = tmp.Sync()
	}
	if closeErr := tmp.Close(); err == nil {
		err = closeErr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		os.Remove(tmp.Name())
		return installErr("cannot write %s: %v", path, err)
	}
	return nil
}

// ReadRecord reads an installed version's record; an error when the version is not (completely) installed.
func ReadRecord(dir, name, version string) (Record, error) {
	var record Record
	data, err := os.ReadFile(filepath.Join(serviceDir(dir, name), version, recordFile))
	if err == nil {
		err = json.Unmarshal(data, &record)
	}
	if err != nil {
		return record, notFoundErr("%s %s is not installed in %s", name, version, dir)
	}
	return record, nil
}

// Installed lists the installed versions of a service, oldest install first.
func Installed(dir, name string) ([]Record, error) {
	entries, err := os.ReadDir(serviceDir(dir, name))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, installErr("%v", err)
	}
	var records []Record
	for _, entry := range entries {
		if !entry.IsDir() || strings.HasPrefix(entry.Name(), ".") {
			continue
		}
		if record, err := ReadRecord(dir, name, entry.Name()); err == nil {
			records = append(records, record)
		}
	}
	sort.Slice(records, func(i, j int) bool { return records[i].InstalledAt.Before(records[j].InstalledAt) })
	return records, nil
}

// Current is the version the `current` pointer names ("" when none).
func Current(dir, name string) string {
	target, err := os.Readlink(filepath.Join(serviceDir(dir, name), "current"))
	if err != nil {
		return ""
	}
	return filepath.Base(target)
}

// Activate points <dir>/<name>/current at an installed version (an atomic rename of a new symlink).
func Activate(dir, name, version string, wait time.Duration) error {
	lock, err := LockService(dir, name, wait)
	if err != nil {
		return err
	}
	defer lock.Unlock()
	return activateLocked(dir, name, version)
}

func activateLocked(dir, name, version string) error {
	if _, err := ReadRecord(dir, name, version); err != nil {
		return err
	}
	service := serviceDir(dir, name)
	previous := Current(dir, name)
	tmp := filepath.Join(service, fmt.Sprintf(".current-%d", time.Now().UnixNano()))
	if err := os.Symlink(version, tmp); err != nil {
		return installErr("cannot create %s: %v", tmp, err)
	}
	if err := os.Rename(tmp, filepath.Join(service, "current")); err != nil {
		os.Remove(tmp)
		return installErr("cannot move %s/current: %v", service, err)
	}
	if previous == version {
		return nil
	}
	state, err := ReadState(dir, name)
	if err != nil {
		return err
	}
	state.History = append(state.History, version)
	if len(state.History) > 50 {
		state.History = state.History[len(state.History)-50:]
	}
	return writeState(dir, name, state)
}

// MarkBad records a version as bad so that no fetch or upgrade takes it again.
func MarkBad(dir, name, version, reason string, wait time.Duration) error {
	lock, err := LockService(dir, name, wait)
	if err != nil {
		return err
	}
	defer lock.Unlock()
	state, err := ReadState(dir, name)
	if err != nil {
		return err
	}
	if state.Bad == nil {
		state.Bad = map[string]string{}
	}
	state.Bad[version] = reason
	return writeState(dir, name, state)
}

// Previous is the newest version `current` pointed at before the current one that is installed and not bad.
func Previous(dir, name string) (string, error) {
	state, err := ReadState(dir, name)
	if err != nil {
		return "", err
	}
	current := Current(dir, name)
	for i := len(state.History) - 1; i >= 0; i-- {
		version := state.History[i]
		if version == current || state.Bad[version] != "" {
			continue
		}
		if _, err := ReadRecord(dir, name, version); err == nil {
			return version, nil
		}
	}
	return "", notFoundErr("%s: no previous good version is installed in %s", name, dir)
}

// Prune removes installed versions beyond the newest keep, never the current one nor those in protect.
func Prune(dir, name string, keep int, protect ...string) error {
	if keep <= 0 {
		return nil
	}
	records, err := Installed(dir, name)
	if err != nil {
		return err
	}
	kept := map[string]bool{}
	for _, version := range append(protect, Current(dir, name)) {
		if version != "" {
			kept[version] = true
		}
	}
	remaining := keep - len(kept)
	for i := len(records) - 1; i >= 0; i-- {
		version := records[i].Version
		if kept[version] {
			continue
		}
		if remaining > 0 {
			remaining--
			continue
		}
		removeDir(filepath.Join(serviceDir(dir, name), version))
	}
	return nil
}

// removeDir renames a folder aside first, so a half-removed version never looks installed.
func removeDir(path string) {
	trash := filepath.Join(filepath.Dir(path), fmt.Sprintf(".trash-%s-%d", filepath.Base(path), time.Now().UnixNano()))
	if os.Rename(path, trash) == nil {
		path = trash
	}
	os.RemoveAll(path)
}
