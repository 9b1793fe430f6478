// Package fetch downloads, verifies and installs a service's binary from a distribution store written by
// stigmer's publish-binary (the contract is in the repository's design notes: index.json, minisign signatures,
// <name>/<version>/<file>). Everything is checked before anything is installed; an install is a rename.
package fetch

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"aead.dev/minisign"
)

// Options tune Fetch. The zero value refuses everything unsigned and keeps every version.
type Options struct {
	// Keys are the trusted minisign public keys of the publisher.
	Keys []minisign.PublicKey
	// AllowUnsigned accepts an index or manifest without a signature (never one with a bad signature).
	AllowUnsigned bool
	// AllowExpired accepts an index past its `expires`.
	AllowExpired bool
	// Platform overrides the running GOOS-GOARCH.
	Platform string
	// Keep is how many installed versions to keep (the current one included); 0 keeps all.
	Keep int
	// NoActivate installs without moving `current` (a supervisor moves it once the version is healthy).
	NoActivate bool
	// AllowBad fetches a version even if it was marked bad.
	AllowBad bool
	// Retries after a failed read of the store (default 5), with exponential backoff from Backoff (default
	// 200ms) up to MaxBackoff (default 5s). A download resumes where it stopped, with a Range request.
	Retries    int
	Backoff    time.Duration
	MaxBackoff time.Duration
	// LockWait is how long to wait for another agent's lock on the folder (default: do not wait).
	LockWait time.Duration
	// Now is the clock (tests).
	Now func() time.Time
	// Log receives one line per step (optional).
	Log func(format string, args ...any)
}

// Result says what Fetch installed.
type Result struct {
	Name       string
	Version    string
	Platform   string
	Serial     int64
	Dir        string // <dir>/<name>/<version>
	Executable string // the program to run
	// Downloaded is false when the version was already installed (nothing was read but the index).
	Downloaded bool
	// Resumed counts downloads continued with a Range request after a dropped connection.
	Resumed int
}

// lockedFetcher makes the fetcher of a service and holds the service's folder lock (its state and installs).
func lockedFetcher(store Store, name, dir string, opts Options) (*fetcher, *Lock, error) {
	f := &fetcher{store: store, name: name, dir: dir, opts: opts}
	f.defaults()
	lock, err := LockService(dir, name, opts.LockWait)
	if err != nil {
		return nil, nil, err
	}
	return f, lock, nil
}

// Fetch installs service name at selector (a version, a channel, or "" / "latest") from store into
// <dir>/<name>/<version>/ and, unless opts.NoActivate, points <dir>/<name>/current at it.
func Fetch(ctx context.Context, store Store, name, selector, dir string, opts Options) (*Result, error) {
	if err := safeComponent("service name", name); err != nil {
		return nil, err
	}
	f, lock, err := lockedFetcher(store, name, dir, opts)
	if err != nil {
		return nil, err
	}
	defer lock.Unlock()
	index, signed, err := f.readIndex(ctx)
	if err != nil {
		return nil, err
	}
	version, err := index.resolve(selector)
	if err != nil {
		return nil, err
	}
	if err := safeComponent("version", version); err != nil {
		return nil, err
	}
	state, err := ReadState(dir, name)
	if err != nil {
		return nil, err
	}
	if reason := state.Bad[version]; reason != "" && !opts.AllowBad {
		return nil, verifyErr("%s %s was marked bad (%s): it is not fetched again", name, version, reason)
	}
	platforms := index.Versions[version].Platforms
	entry, ok := platforms[f.opts.Platform]
	if !ok {
		return nil, notFoundErr("%s %s has no build for %s; it has: %s", name, version, f.opts.Platform, sortedKeys(platforms))
	}
	result := &Result{Name: name, Version: version, Platform: f.opts.Platform, Serial: index.Serial, Dir: filepath.Join(serviceDir(dir, name), version)}
	record, err := ReadRecord(dir, name, version)
	if err == nil && !strings.EqualFold(record.SHA256, entry.SHA256) {
		// A published version never changes: different bytes under an installed version are not installed over it.
		return nil, verifyErr("%s %s is installed with sha256 %s, but the store now lists %s: a published version never changes; publish a new version", name, version, record.SHA256, entry.SHA256)
	}
	if err != nil {
		if record, err = f.install(ctx, version, entry, signed, result); err != nil {
			return nil, err
		}
		result.Downloaded = true
	}
	result.Executable = record.Executable(dir)
	if !opts.NoActivate {
		if err := activateLocked(dir, name, version); err != nil {
			return nil, err
		}
		if err := Prune(dir, name, opts.Keep); err != nil {
			return nil, err
		}
	}
	return result, nil
}

// ReadIndex reads and verifies a service's index (signature, schema, expiry, serial) without installing.
func ReadIndex(ctx context.Context, store Store, name, dir string, opts Options) (*Index, error) {
	f, lock, err := lockedFetcher(store, name, dir, opts)
	if err != nil {
		return nil, err
	}
	defer lock.Unlock()
	index, _, err := f.readIndex(ctx)
	return index, err
}

type fetcher struct {
	store Store
	name  string
	dir   string
	opts  Options
}

func (f *fetcher) defaults() {
	if f.opts.Platform == "" {
		f.opts.Platform = CurrentPlatform()
	}
	if f.opts.Retries == 0 {
		f.opts.Retries = 5
	}
	if f.opts.Backoff == 0 {
		f.opts.Backoff = 200 * time.Millisecond
	}
	if f.opts.MaxBackoff == 0 {
		f.opts.MaxBackoff = 5 * time.Second
	}
	if f.opts.Now == nil {
		f.opts.Now = time.Now
	}
	if f.opts.Log == nil {
		f.opts.Log = func(string, ...any) {}
	}
}

// readIndex reads index.json and its signature, checks them and the serial, and persists the serial.
func (f *fetcher) readIndex(ctx context.Context) (*Index, bool, error) {
	key := f.name + "/index.json"
	data, err := f.readSmall(ctx, key)
	if err != nil {
		return nil, false, err
	}
	var head struct {
		Serial int64 `json:"serial"`
	}
	_ = json.Unmarshal(data, &head)
	signed, err := f.checkSignature(ctx, key, data, fmt.Sprintf("%s %d", f.name, head.Serial))
	if err != nil {
		return nil, false, err
	}
	index, err := parseIndex(data, f.name, f.opts.Now(), f.opts.AllowExpired)
	if err != nil {
		return nil, false, err
	}
	state, err := ReadState(f.dir, f.name)
	if err != nil {
		return nil, false, err
	}
	if index.Serial < state.LastSerial {
		return nil, false, verifyErr("%s/index.json has serial %d, lower than %d already accepted: an old index replayed, refused", f.name, index.Serial, state.LastSerial)
	}
	if index.Serial > state.LastSerial {
		state.LastSerial = index.Serial
		if err := writeState(f.dir, f.name, state); err != nil {
			return nil, false, err
		}
	}
	return index, signed, nil
}

// checkSignature verifies key's .minisig over data; false when unsigned and that is allowed.
func (f *fetcher) checkSignature(ctx context.Context, key string, data []byte, trusted string) (bool, error) {
	signature, err := f.readSmall(ctx, key+".minisig")
	if errors.Is(err, ErrNotFound) {
		if f.opts.AllowUnsigned {
			f.opts.Log("%s is unsigned (allowed)", key)
			return false, nil
		}
		return false, verifyErr("%s/%s has no signature (%s.minisig): refused; publish with a signing key, or allow unsigned", f.store, key, path.Base(key))
	}
	if err != nil {
		return false, err
	}
	if len(f.opts.Keys) == 0 {
		if f.opts.AllowUnsigned {
			return false, nil
		}
		return false, verifyErr("%s is signed but no trusted public key is configured: pass the publisher's minisign public key (--key)", key)
	}
	if _, err := verifySignature(f.opts.Keys, data, signature, trusted, key); err != nil {
		return false, err
	}
	return true, nil
}

func (f *fetcher) readSmall(ctx context.Context, key string) ([]byte, error) {
	var data []byte
	err := f.retry(ctx, key, func(int) error {
		reader, err := f.store.Open(ctx, key, 0)
		if err != nil {
			return err
		}
		defer reader.Close()
		data, err = io.ReadAll(io.LimitReader(reader, 16<<20))
		if err != nil {
			return unavailableErr("%s/%s: %v", f.store, key, err)
		}
		return nil
	})
	return data, err
}

// retry runs attempt until it succeeds, fails for good (not found, verification, install) or runs out of tries.
func (f *fetcher) retry(ctx context.Context, key string, attempt func(int) error) error {
	delay := f.opts.Backoff
	for try := 0; ; try++ {
		err := attempt(try)
		if err == nil || !errors.Is(err, ErrUnavailable) || try >= f.opts.Retries {
			return err
		}
		f.opts.Log("%s: %v; retrying in %s", key, err, delay)
		select {
		case <-ctx.Done():
			return unavailableErr("%s: %v (cancelled while retrying: %v)", key, err, ctx.Err())
		case <-time.After(delay):
		}
		delay = min(delay*2, f.opts.MaxBackoff)
	}
}

// install downloads and verifies one file and installs it as <dir>/<name>/<version>/. Nothing is left behind on failure.
func (f *fetcher) install(ctx context.Context, version string, entry Platform, signed bool, result *Result) (Record, error) {
	var record Record
	service := serviceDir(f.dir, f.name)
	key := f.name + "/" + strings.TrimPrefix(entry.File, "/")
	if strings.Contains(entry.File, "..") || entry.File == "" {
		return record, verifyErr("%s %s %s: file %q is not a path under the service", f.name, version, f.opts.Platform, entry.File)
	}
	if entry.Layout != "onefile" && entry.Layout != "onedir" {
		return record, verifyErr("%s %s %s: layout %q is neither onefile nor onedir: upgrade stigmer-agent", f.name, version, f.opts.Platform, entry.Layout)
	}
	manifestSigned, err := f.checkManifest(ctx, key, version, entry)
	if err != nil {
		return record, err
	}
	tmp, err := os.CreateTemp(service, ".download-*")
	if err != nil {
		return record, installErr("cannot create a temporary file in %s: %v", service, err)
	}
	defer func() {
		tmp.Close()
		os.Remove(tmp.Name())
	}()
	if err := f.download(ctx, key, tmp, entry, result); err != nil {
		return record, err
	}
	staging, err := os.MkdirTemp(service, ".staging-"+version+"-")
	if err != nil {
		return record, installErr("cannot create a folder in %s: %v", service, err)
	}
	defer os.RemoveAll(staging)
	entrypoint := path.Base(entry.File)
	if entry.Layout == "onefile" {
		if err := tmp.Chmod(0o755); err != nil {
			return record, installErr("chmod %s: %v", tmp.Name(), err)
		}
		if err := os.Rename(tmp.Name(), filepath.Join(staging, entrypoint)); err != nil {
			return record, installErr("cannot move the download into %s: %v", staging, err)
		}
	} else {
		if entry.Entrypoint == nil || *entry.Entrypoint == "" {
			return record, verifyErr("%s %s %s: a onedir build without an entrypoint", f.name, version, f.opts.Platform)
		}
		entrypoint = path.Clean(*entry.Entrypoint)
		if _, err := tmp.Seek(0, io.SeekStart); err != nil {
			return record, installErr("%v", err)
		}
		if err := Unpack(tmp, staging); err != nil {
			return record, err
		}
		info, err := os.Lstat(filepath.Join(staging, filepath.FromSlash(entrypoint)))
		if err != nil || !info.Mode().IsRegular() || strings.HasPrefix(entrypoint, "../") {
			return record, verifyErr("%s %s %s: the archive has no program at entrypoint %q", f.name, version, f.opts.Platform, entrypoint)
		}
	}
	record = Record{Name: f.name, Version: version, Platform: f.opts.Platform, File: entry.File, SHA256: strings.ToLower(entry.SHA256),
		Layout: entry.Layout, Entrypoint: entrypoint, Signed: signed && manifestSigned, InstalledAt: f.opts.Now().UTC()}
	data, _ := json.MarshalIndent(record, "", "  ")
	if err := writeFileAtomic(filepath.Join(staging, recordFile), append(data, '\n')); err != nil {
		return record, err
	}
	if err := syncDir(staging); err != nil {
		return record, err
	}
	final := filepath.Join(service, version)
	if _, err := os.Lstat(final); err == nil {
		// A folder of this version without a record (an interrupted removal): never the one running, which has one.
		removeDir(final)
	}
	if err := os.Rename(staging, final); err != nil {
		return record, installErr("cannot move %s to %s: %v", staging, final, err)
	}
	_ = syncDir(service)
	f.opts.Log("installed %s %s (%s) in %s", f.name, version, f.opts.Platform, final)
	return record, nil
}

// checkManifest verifies <file>.manifest.json's signature (trusted comment `name version platform`) and that it
// names the same size and sha256 as the index.
func (f *fetcher) checkManifest(ctx context.Context, key, version string, entry Platform) (bool, error) {
	data, err := f.readSmall(ctx, key+".manifest.json")
	if err != nil {
		if errors.Is(err, ErrNotFound) && f.opts.AllowUnsigned {
			return false, nil
		}
		return false, err
	}
	signed, err := f.checkSignature(ctx, key+".manifest.json", data, fmt.Sprintf("%s %s %s", f.name, version, f.opts.Platform))
	if err != nil {
		return false, err
	}
	var manifest Manifest
	if err := json.Unmarshal(data, &manifest); err != nil {
		return false, verifyErr("%s.manifest.json is not valid JSON (%v)", key, err)
	}
	if !strings.EqualFold(manifest.SHA256, entry.SHA256) || manifest.Size != entry.Size {
		return false, verifyErr("%s: the manifest says %d bytes sha256 %s, the index %d bytes sha256 %s", key, manifest.Size, manifest.SHA256, entry.Size, entry.SHA256)
	}
	return signed, nil
}

// download reads key into file, resuming with a Range request after a failed read, and checks size and sha256.
func (f *fetcher) download(ctx context.Context, key string, file *os.File, entry Platform, result *Result) error {
	digest := sha256.New()
	var written int64
	buffer := make([]byte, 256<<10)
	err := f.retry(ctx, key, func(int) error {
		reader, err := f.store.Open(ctx, key, written)
		if err != nil {
			return err
		}
		if written > 0 {
			result.Resumed++
		}
		defer reader.Close()
		return copyChecked(file, digest, reader, buffer, &written, entry.Size, key)
	})
	if err != nil {
		return err
	}
	if written != entry.Size {
		return verifyErr("%s: %d bytes read, the index says %d: refused", key, written, entry.Size)
	}
	if sum := hex.EncodeToString(digest.Sum(nil)); !strings.EqualFold(sum, entry.SHA256) {
		return verifyErr("%s: sha256 %s, the index says %s (altered or damaged): refused", key, sum, entry.SHA256)
	}
	if err := file.Sync(); err != nil {
		return installErr("%s: %v", file.Name(), diskHint(err))
	}
	return nil
}

func copyChecked(file *os.File, digest hash.Hash, reader io.Reader, buffer []byte, written *int64, size int64, key string) error {
	for {
		n, readErr := reader.Read(buffer)
		if n > 0 {
			if *written+int64(n) > size {
				return verifyErr("%s is larger than the %d bytes the index says: refused", key, size)
			}
			if _, err := file.Write(buffer[:n]); err != nil {
				return installErr("writing %s: %v", file.Name(), diskHint(err))
			}
			digest.Write(buffer[:n])
			*written += int64(n)
		}
		if readErr == io.EOF {
			if *written < size {
				return unavailableErr("%s: the connection ended after %d of %d bytes", key, *written, size)
			}
			return nil
		}
		if readErr != nil {
			return unavailableErr("%s: read failed after %d of %d bytes: %v", key, *written, size, readErr)
		}
	}
}

func diskHint(err error) error {
	if errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT) || errors.Is(err, syscall.EFBIG) {
		return fmt.Errorf("%v: free space in the install folder and try again", err)
	}
	return err
}

func syncDir(dir string) error {
	handle, err := os.Open(dir)
	if err != nil {
		return installErr("%v", err)
	}
	defer handle.Close()
	_ = handle.Sync()
	return nil
}

// safeComponent refuses names that are not one plain path component.
func safeComponent(what, value string) error {
	if value == "" || value == "." || value == ".." || strings.ContainsAny(value, "/\\\x00") || strings.HasPrefix(value, ".") || value == "current" {
		return verifyErr("%s %q cannot be a folder name", what, value)
	}
	return nil
}
