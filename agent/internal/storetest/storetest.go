// Package storetest writes distribution stores for the tests exactly as DESIGN.md's "Distribution contract" says
// publish-binary writes them: <name>/<version>/<file> with .sha256, .manifest.json and .manifest.json.minisig,
// then <name>/index.json and its .minisig (trusted comments `name version platform` and `name serial`). It uses
// its own types, not the reader's, so a field the reader misnames fails the tests.
package storetest

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"aead.dev/minisign"
	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

type indexFile struct {
	Schema   int                     `json:"schema"`
	Name     string                  `json:"name"`
	Serial   int64                   `json:"serial"`
	Expires  string                  `json:"expires"`
	Keys     []string                `json:"keys"`
	Channels map[string]string       `json:"channels"`
	Versions map[string]*versionFile `json:"versions"`
}

type versionFile struct {
	Published string                   `json:"published"`
	Platforms map[string]*platformFile `json:"platforms"`
	Report    *reportFile              `json:"report,omitempty"`
}

// reportFile is the size report publish-binary --report lists beside the platforms (no binary).
type reportFile struct {
	File     string `json:"file"`
	Size     int64  `json:"size"`
	SHA256   string `json:"sha256"`
	Platform string `json:"platform"`
}

type platformFile struct {
	File       string  `json:"file"`
	Size       int64   `json:"size"`
	SHA256     string  `json:"sha256"`
	Layout     string  `json:"layout"`
	Entrypoint *string `json:"entrypoint"`
}

// Publisher writes one service's store under Root (a folder that is the store's prefix).
type Publisher struct {
	t       testing.TB
	Root    string
	Name    string
	Public  minisign.PublicKey
	Private minisign.PrivateKey
	// Expires of the next Publish (default 30 days ahead).
	Expires time.Time
	index   indexFile
}

// NewKey makes a minisign key pair.
func NewKey(t testing.TB) (minisign.PublicKey, minisign.PrivateKey) {
	public, private, err := minisign.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return public, private
}

// New starts an empty store for service name under root, with a new signing key.
func New(t testing.TB, root, name string) *Publisher {
	public, private := NewKey(t)
	return &Publisher{t: t, Root: root, Name: name, Public: public, Private: private, Expires: time.Now().Add(30 * 24 * time.Hour),
		index: indexFile{Schema: 1, Name: name, Channels: map[string]string{}, Versions: map[string]*versionFile{}}}
}

// KeyID is the key id as minisign prints it.
func KeyID(key minisign.PublicKey) string { return strings.ToUpper(fmt.Sprintf("%X", key.ID())) }

// Sign makes a minisign signature with the publisher's key.
func (p *Publisher) Sign(data []byte, trusted string) []byte {
	return minisign.SignWithComments(p.Private, data, trusted, "signature from stigmer publish-binary secret key")
}

func (p *Publisher) write(key string, data []byte) {
	target := filepath.Join(p.Root, filepath.FromSlash(key))
	if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
		p.t.Fatal(err)
	}
	if err := os.WriteFile(target, data, 0o644); err != nil {
		p.t.Fatal(err)
	}
}

// Path is the local path of a key of the store.
func (p *Publisher) Path(key string) string { return filepath.Join(p.Root, filepath.FromSlash(key)) }

// Add stores one platform's file of a version with its side files. layout is "onefile" or "onedir" (data is then
// a .tar.gz and entrypoint the program's path inside it). It returns the file's key.
func (p *Publisher) Add(version, platform string, data []byte, layout, entrypoint string) string {
	file := fmt.Sprintf("%s-%s", p.Name, platform)
	if layout == "onedir" {
		file += ".tar.gz"
	}
	rel := version + "/" + file
	sum := sha256.Sum256(data)
	hexSum := hex.EncodeToString(sum[:])
	base := p.Name + "/" + rel
	p.write(base, data)
	p.write(base+".sha256", []byte(hexSum+"  "+file+"\n"))
	osName, arch, _ := strings.Cut(platform, "-")
	manifest := map[string]any{"name": p.Name, "version": version, "os": osName, "arch": arch, "runtime": "go", "layout": layout,
		"runtimeVersions": map[string]string{"go": "test"}, "builtBy": "storetest", "size": len(data), "sha256": hexSum}
	var entry *string
	if layout == "onedir" {
		manifest["entrypoint"] = entrypoint
		entry = &entrypoint
	}
	manifestJSON, _ := json.MarshalIndent(manifest, "", "  ")
	p.write(base+".manifest.json", manifestJSON)
	p.write(base+".manifest.json.minisig", p.Sign(manifestJSON, fmt.Sprintf("%s %s %s", p.Name, version, platform)))
	v := p.index.Versions[version]
	if v == nil {
		v = &versionFile{Published: time.Now().UTC().Format(time.RFC3339), Platforms: map[string]*platformFile{}}
		p.index.Versions[version] = v
	}
	v.Platforms[platform] = &platformFile{File: rel, Size: int64(len(data)), SHA256: hexSum, Layout: layout, Entrypoint: entry}
	return base
}

// Report stores a version's size report as publish-binary --report does (<name>/<version>/<name>.report.json),
// listed in the version's "report" field beside its platforms. Call it after Add of that version.
func (p *Publisher) Report(version, platform string, data []byte) {
	rel := version + "/" + p.Name + ".report.json"
	p.write(p.Name+"/"+rel, data)
	sum := sha256.Sum256(data)
	p.index.Versions[version].Report = &reportFile{File: rel, Size: int64(len(data)), SHA256: hex.EncodeToString(sum[:]), Platform: platform}
}

// Channel points a channel at a version (written by the next Publish).
func (p *Publisher) Channel(channel, version string) { p.index.Channels[channel] = version }

// Publish writes index.json with the next serial and its signature; it returns both (to replay them later).
func (p *Publisher) Publish() (index, signature []byte) {
	p.index.Serial++
	p.index.Expires = p.Expires.UTC().Format(time.RFC3339)
	p.index.Keys = []string{KeyID(p.Public)}
	index, _ = json.MarshalIndent(p.index, "", "  ")
	signature = p.Sign(index, fmt.Sprintf("%s %d", p.Name, p.index.Serial))
	p.WriteIndex(index, signature)
	return index, signature
}

// Serial is the serial of the last Publish.
func (p *Publisher) Serial() int64 { return p.index.Serial }

// WriteIndex writes given index bytes and signature (nil signature: none), as an attacker or a replay would.
func (p *Publisher) WriteIndex(index, signature []byte) {
	p.write(p.Name+"/index.json", index)
	if signature == nil {
		os.Remove(p.Path(p.Name + "/index.json.minisig"))
	} else {
		p.write(p.Name+"/index.json.minisig", signature)
	}
}

// Entry is one member of a test archive.
type Entry struct {
	Name     string
	Body     string
	Mode     int64
	Type     byte // tar.TypeReg by default
	Linkname string
}

// TarGz makes a .tar.gz as a onedir build would (or a hostile one).
func TarGz(t testing.TB, entries ...Entry) []byte {
	var buffer bytes.Buffer
	gz := gzip.NewWriter(&buffer)
	archive := tar.NewWriter(gz)
	for _, e := range entries {
		header := &tar.Header{Name: e.Name, Mode: e.Mode, Typeflag: e.Type, Linkname: e.Linkname, Size: int64(len(e.Body)), ModTime: time.Unix(0, 0)}
		if header.Typeflag == 0 {
			header.Typeflag = tar.TypeReg
		}
		if header.Typeflag != tar.TypeReg {
			header.Size = 0
		}
		if header.Mode == 0 {
			header.Mode = 0o644
		}
		if err := archive.WriteHeader(header); err != nil {
			t.Fatal(err)
		}
		if header.Typeflag == tar.TypeReg {
			if _, err := archive.Write([]byte(e.Body)); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := archive.Close(); err != nil {
		t.Fatal(err)
	}
	if err := gz.Close(); err != nil {
		t.Fatal(err)
	}
	return buffer.Bytes()
}

// S3 is the real S3-compatible server the tests use (scripts/s3-server.js starts it).
type S3 struct {
	Endpoint, AccessKey, SecretKey string
	Client                         *minio.Client
}

// S3Server reads STIGMER_TEST_S3_* and fails the test without them: a test never passes because the server is absent.
func S3Server(t testing.TB) *S3 {
	endpoint, access, secret := os.Getenv("STIGMER_TEST_S3_ENDPOINT"), os.Getenv("STIGMER_TEST_S3_ACCESS_KEY"), os.Getenv("STIGMER_TEST_S3_SECRET_KEY")
	if endpoint == "" || access == "" || secret == "" {
		t.Fatal("STIGMER_TEST_S3_ENDPOINT/_ACCESS_KEY/_SECRET_KEY are not set: run `npm run test:agent`, which starts the S3 server (scripts/s3-server.js)")
	}
	u, err := url.Parse(endpoint)
	if err != nil {
		t.Fatal(err)
	}
	client, err := minio.New(u.Host, &minio.Options{Creds: credentials.NewStaticV4(access, secret, ""), Secure: u.Scheme == "https", Region: "us-east-1", BucketLookup: minio.BucketLookupPath})
	if err != nil {
		t.Fatal(err)
	}
	return &S3{Endpoint: endpoint, AccessKey: access, SecretKey: secret, Client: client}
}

// Bucket makes a new bucket for one test.
func (s *S3) Bucket(t testing.TB) string {
	bucket := fmt.Sprintf("agent-test-%d", time.Now().UnixNano())
	if err := s.Client.MakeBucket(context.Background(), bucket, minio.MakeBucketOptions{Region: "us-east-1"}); err != nil {
		t.Fatalf("make bucket %s: %v", bucket, err)
	}
	return bucket
}

// Upload copies every file under root to bucket/prefix (the index last, as publish-binary writes it).
func (s *S3) Upload(t testing.TB, root, bucket, prefix string) {
	var indexes []string
	err := filepath.WalkDir(root, func(file string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		if strings.HasPrefix(path.Base(file), "index.json") {
			indexes = append(indexes, file)
			return nil
		}
		return s.put(root, file, bucket, prefix)
	})
	for _, file := range indexes {
		if err == nil {
			err = s.put(root, file, bucket, prefix)
		}
	}
	if err != nil {
		t.Fatal(err)
	}
}

func (s *S3) put(root, file, bucket, prefix string) error {
	rel, _ := filepath.Rel(root, file)
	_, err := s.Client.FPutObject(context.Background(), bucket, path.Join(prefix, filepath.ToSlash(rel)), file, minio.PutObjectOptions{})
	return err
}
