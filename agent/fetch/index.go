package fetch

import (
	"encoding/json"
	"fmt"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"time"

	"aead.dev/minisign"
)

// Index is a service's index.json, as publish-binary writes it (DESIGN.md, "Distribution contract").
// Unknown fields are ignored.
type Index struct {
	Schema   int                `json:"schema"`
	Name     string             `json:"name"`
	Serial   int64              `json:"serial"`
	Expires  string             `json:"expires"`
	Keys     []string           `json:"keys"`
	Channels map[string]string  `json:"channels"`
	Versions map[string]Version `json:"versions"`
}

// Version is one published version: its files by platform.
type Version struct {
	Published string              `json:"published"`
	Platforms map[string]Platform `json:"platforms"`
}

// Platform is one file of a version: a onefile binary, or a onedir .tar.gz with the entrypoint inside it.
type Platform struct {
	File       string  `json:"file"`
	Size       int64   `json:"size"`
	SHA256     string  `json:"sha256"`
	Layout     string  `json:"layout"`
	Entrypoint *string `json:"entrypoint"`
}

// Manifest is the part of <file>.manifest.json the agent checks: its signature binds size and sha256 to
// `name version platform`.
type Manifest struct {
	Name    string `json:"name"`
	Version string `json:"version"`
	Size    int64  `json:"size"`
	SHA256  string `json:"sha256"`
}

// SchemaVersion is the index schema this agent reads.
const SchemaVersion = 1

// CurrentPlatform is the running program's platform in the contract's words (Go's GOOS-GOARCH).
func CurrentPlatform() string { return runtime.GOOS + "-" + runtime.GOARCH }

// KeyID is a minisign key id as the index's `keys` and minisign's own output write it: upper-case hex.
func KeyID(id uint64) string { return strings.ToUpper(strconv.FormatUint(id, 16)) }

func sameKeyID(a, b string) bool {
	x, errA := strconv.ParseUint(strings.TrimPrefix(strings.ToLower(a), "0x"), 16, 64)
	y, errB := strconv.ParseUint(strings.TrimPrefix(strings.ToLower(b), "0x"), 16, 64)
	return errA == nil && errB == nil && x == y
}

// ParsePublicKey reads a minisign public key: the two-line .pub file's text or its base64 line alone.
func ParsePublicKey(text string) (minisign.PublicKey, error) {
	var key minisign.PublicKey
	text = strings.TrimSpace(text)
	lines := strings.Split(text, "\n")
	if err := key.UnmarshalText([]byte(strings.TrimSpace(lines[len(lines)-1]))); err != nil {
		return key, fmt.Errorf("not a minisign public key (%v): pass the .pub file or its base64 line", err)
	}
	return key, nil
}

// verifySignature checks a minisign signature over message against the trusted keys and that its trusted
// comment is exactly want, so a signature cannot be moved onto another file. It returns the signing key's id.
func verifySignature(keys []minisign.PublicKey, message, signature []byte, want, what string) (string, error) {
	var sig minisign.Signature
	if err := sig.UnmarshalText(signature); err != nil {
		return "", verifyErr("%s: the signature is not in minisign's format (%v)", what, err)
	}
	for _, key := range keys {
		if key.ID() != sig.KeyID {
			continue
		}
		if !minisign.Verify(key, message, signature) {
			return "", verifyErr("%s: the signature does not match (altered file or signature)", what)
		}
		if sig.TrustedComment != want {
			return "", verifyErr("%s: the signature's trusted comment is %q, expected %q (a signature moved from another file)", what, sig.TrustedComment, want)
		}
		return KeyID(sig.KeyID), nil
	}
	return "", verifyErr("%s: signed by key %s, which is not one of the trusted keys (%s): add its public key with --key", what, KeyID(sig.KeyID), keyList(keys))
}

func keyList(keys []minisign.PublicKey) string {
	if len(keys) == 0 {
		return "none configured"
	}
	ids := make([]string, len(keys))
	for i, key := range keys {
		ids[i] = KeyID(key.ID())
	}
	return strings.Join(ids, ", ")
}

// parseIndex decodes and checks an index's shape and expiry.
func parseIndex(data []byte, name string, now time.Time, allowExpired bool) (*Index, error) {
	var index Index
	if err := json.Unmarshal(data, &index); err != nil {
		return nil, verifyErr("%s/index.json is not valid JSON (%v)", name, err)
	}
	if index.Schema != SchemaVersion {
		return nil, verifyErr("%s/index.json has schema %d; this agent reads schema %d: upgrade stigmer-agent", name, index.Schema, SchemaVersion)
	}
	if index.Name != name {
		return nil, verifyErr("%s/index.json names the service %q", name, index.Name)
	}
	if !allowExpired {
		expires, err := time.Parse(time.RFC3339, index.Expires)
		if err != nil {
			return nil, verifyErr("%s/index.json: expires %q is not an RFC 3339 time", name, index.Expires)
		}
		if now.After(expires) {
			return nil, verifyErr("%s/index.json expired at %s (serial %d): the publisher must publish or re-sign the index (a frozen index is refused)", name, index.Expires, index.Serial)
		}
	}
	return &index, nil
}

// resolve turns a selector (a version, a channel, or empty for latest) into a version of the index.
func (index *Index) resolve(selector string) (string, error) {
	if selector == "" {
		selector = "latest"
	}
	if _, ok := index.Versions[selector]; ok {
		return selector, nil
	}
	if version, ok := index.Channels[selector]; ok {
		if _, ok := index.Versions[version]; !ok {
			return "", verifyErr("%s: channel %q points at %s, which the index does not list", index.Name, selector, version)
		}
		return version, nil
	}
	return "", notFoundErr("%s: no version or channel %q; versions: %s; channels: %s", index.Name, selector, sortedKeys(index.Versions), sortedKeys(index.Channels))
}

func sortedKeys[V any](m map[string]V) string {
	keys := make([]string, 0, len(m))
	for key := range m {
		keys = append(keys, key)
	}
	sort.Strings(keys)
	if len(keys) == 0 {
		return "none"
	}
	return strings.Join(keys, ", ")
}
