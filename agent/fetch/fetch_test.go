//go:build unix

package fetch_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"aead.dev/minisign"

	"github.com/stigmer/stigmer/agent/fetch"
	"github.com/stigmer/stigmer/agent/internal/storetest"
)

const name = "agent-runner"

var platform = fetch.CurrentPlatform()

// program is a stand-in binary of a version (its bytes say which).
func program(version string, size int) []byte {
	data := bytes.Repeat([]byte("x"), size)
	copy(data, "#!/bin/sh\necho "+version+"\nexit 0\n#")
	return data
}

func options(p *storetest.Publisher) fetch.Options {
	return fetch.Options{Keys: []minisign.PublicKey{p.Public}, Backoff: 10 * time.Millisecond, MaxBackoff: 50 * time.Millisecond}
}

func mustFetch(t *testing.T, store fetch.Store, selector, dir string, opts fetch.Options) *fetch.Result {
	t.Helper()
	result, err := fetch.Fetch(context.Background(), store, name, selector, dir, opts)
	if err != nil {
		t.Fatalf("fetch %s@%s: %v", name, selector, err)
	}
	return result
}

func fileStore(t *testing.T, root string) fetch.Store {
	store, err := fetch.OpenStore("file://"+root, fetch.StoreOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return store
}

// publishTwo writes 1.0.0 (onefile) and 1.1.0 (onedir, latest) for the running platform and one other.
func publishTwo(t *testing.T, root string) *storetest.Publisher {
	p := storetest.New(t, root, name)
	p.Add("1.0.0", platform, program("1.0.0", 4096), "onefile", "")
	p.Add("1.0.0", "windows-amd64", []byte("MZ"), "onefile", "")
	p.Add("1.1.0", platform, storetest.TarGz(t,
		storetest.Entry{Name: "agent-runner/", Type: '5', Mode: 0o755},
		storetest.Entry{Name: "agent-runner/agent-runner", Body: string(program("1.1.0", 2048)), Mode: 0o755},
		storetest.Entry{Name: "agent-runner/_internal/lib.so", Body: "library"},
		storetest.Entry{Name: "agent-runner/_internal/lib.so.1", Type: '2', Linkname: "lib.so"},
	), "onedir", "agent-runner/agent-runner")
	p.Channel("stable", "1.0.0")
	p.Channel("latest", "1.1.0")
	p.Publish()
	return p
}

func checkInstalled(t *testing.T, dir, version, wantOutput string) {
	t.Helper()
	if current := fetch.Current(dir, name); current != version {
		t.Fatalf("current is %q, want %q", current, version)
	}
	record, err := fetch.ReadRecord(dir, name, version)
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(record.Executable(dir)).Output()
	if err != nil || strings.TrimSpace(string(out)) != wantOutput {
		t.Fatalf("%s printed %q (%v), want %q", record.Executable(dir), out, err, wantOutput)
	}
}

// TestFetchFromEachStore installs by channel and by version from a folder, a static HTTP host and the real S3 server.
func TestFetchFromEachStore(t *testing.T) {
	root := t.TempDir()
	p := publishTwo(t, root)
	s3 := storetest.S3Server(t)
	bucket := s3.Bucket(t)
	s3.Upload(t, root, bucket, "releases/v1")
	host := httptest.NewServer(http.FileServer(http.Dir(root)))
	defer host.Close()
	stores := map[string]string{"file": "file://" + root, "http": host.URL, "s3": "s3://" + bucket + "/releases/v1"}
	for kind, url := range stores {
		t.Run(kind, func(t *testing.T) {
			store, err := fetch.OpenStore(url, fetch.StoreOptions{S3Endpoint: s3.Endpoint})
			if err != nil {
				t.Fatal(err)
			}
			if kind == "s3" {
				t.Setenv("AWS_ACCESS_KEY_ID", s3.AccessKey)
				t.Setenv("AWS_SECRET_ACCESS_KEY", s3.SecretKey)
			}
			dir := t.TempDir()
			result := mustFetch(t, store, "", dir, options(p))
			if result.Version != "1.1.0" || !result.Downloaded || result.Serial != 1 {
				t.Fatalf("latest: %+v", result)
			}
			checkInstalled(t, dir, "1.1.0", "1.1.0")
			link, err := os.Readlink(filepath.Join(dir, name, "1.1.0", "agent-runner", "_internal", "lib.so.1"))
			if err != nil || link != "lib.so" {
				t.Fatalf("the archive's inside link: %q %v", link, err)
			}
			mustFetch(t, store, "stable", dir, options(p))
			checkInstalled(t, dir, "1.0.0", "1.0.0")
			again := mustFetch(t, store, "1.1.0", dir, options(p))
			if again.Downloaded {
				t.Fatal("an installed version was downloaded again")
			}
			checkInstalled(t, dir, "1.1.0", "1.1.0")
			if previous, _ := fetch.Previous(dir, name); previous != "1.0.0" {
				t.Fatalf("previous is %q", previous)
			}
		})
	}
	t.Run("s3 without credentials", func(t *testing.T) {
		t.Setenv("AWS_ACCESS_KEY_ID", "nobody")
		t.Setenv("AWS_SECRET_ACCESS_KEY", "wrong-secret")
		t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(t.TempDir(), "none"))
		store, _ := fetch.OpenStore("s3://"+bucket+"/releases/v1", fetch.StoreOptions{S3Endpoint: s3.Endpoint})
		opts := options(p)
		_, err := fetch.Fetch(context.Background(), store, name, "", t.TempDir(), opts)
		if !errors.Is(err, fetch.ErrDenied) || !strings.Contains(err.Error(), "AWS_ACCESS_KEY_ID") {
			t.Fatalf("a wrong secret: %v", err)
		}
	})
}

func TestPlatformMissingListsWhatExists(t *testing.T) {
	root := t.TempDir()
	p := publishTwo(t, root)
	opts := options(p)
	opts.Platform = "darwin-arm64"
	_, err := fetch.Fetch(context.Background(), fileStore(t, root), name, "1.0.0", t.TempDir(), opts)
	if !errors.Is(err, fetch.ErrNotFound) || !strings.Contains(err.Error(), "darwin-arm64") || !strings.Contains(err.Error(), "windows-amd64, "+platform) && !strings.Contains(err.Error(), platform+", windows-amd64") {
		t.Fatalf("got %v", err)
	}
	_, err = fetch.Fetch(context.Background(), fileStore(t, root), name, "9.9.9", t.TempDir(), options(p))
	if !errors.Is(err, fetch.ErrNotFound) || !strings.Contains(err.Error(), "1.0.0, 1.1.0") {
		t.Fatalf("got %v", err)
	}
}

// TestSizeReportIsNoPlatform: a version published with its size report (publish-binary --report) installs as
// before; the report, listed beside the platforms, is never taken for one.
func TestSizeReportIsNoPlatform(t *testing.T) {
	root := t.TempDir()
	p := storetest.New(t, root, name)
	p.Add("1.0.0", platform, program("1.0.0", 4096), "onefile", "")
	p.Report("1.0.0", platform, []byte(`{"schema":1,"name":"agent-runner","packages":[]}`))
	p.Channel("latest", "1.0.0")
	p.Publish()
	dir := t.TempDir()
	mustFetch(t, fileStore(t, root), "latest", dir, options(p))
	checkInstalled(t, dir, "1.0.0", "1.0.0")
	opts := options(p)
	opts.Platform = "darwin-arm64"
	_, err := fetch.Fetch(context.Background(), fileStore(t, root), name, "1.0.0", t.TempDir(), opts)
	if !errors.Is(err, fetch.ErrNotFound) || strings.Contains(err.Error(), "report") {
		t.Fatalf("got %v", err)
	}
}

func TestKeepLastN(t *testing.T) {
	root := t.TempDir()
	p := storetest.New(t, root, name)
	for _, v := range []string{"1.0.0", "1.1.0", "1.2.0", "1.3.0"} {
		p.Add(v, platform, program(v, 100), "onefile", "")
	}
	p.Publish()
	dir := t.TempDir()
	opts := options(p)
	opts.Keep = 2
	for _, v := range []string{"1.0.0", "1.1.0", "1.2.0", "1.3.0"} {
		mustFetch(t, fileStore(t, root), v, dir, opts)
		time.Sleep(5 * time.Millisecond)
	}
	records, _ := fetch.Installed(dir, name)
	var versions []string
	for _, r := range records {
		versions = append(versions, r.Version)
	}
	if strings.Join(versions, " ") != "1.2.0 1.3.0" {
		t.Fatalf("kept %v", versions)
	}
}

// snapshot is every file of an install folder with its sha256, minus the agent's own bookkeeping.
func snapshot(t *testing.T, dir string) map[string]string {
	t.Helper()
	files := map[string]string{}
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		base := filepath.Base(path)
		if base == "state.json" || base == ".lock" {
			return nil
		}
		switch {
		case d.Type()&fs.ModeSymlink != 0:
			target, _ := os.Readlink(path)
			files[rel] = "-> " + target
		case d.Type().IsRegular():
			data, _ := os.ReadFile(path)
			sum := sha256.Sum256(data)
			files[rel] = hex.EncodeToString(sum[:])
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

func assertUntouched(t *testing.T, dir string, before map[string]string) {
	t.Helper()
	after := snapshot(t, dir)
	for path, sum := range after {
		if before[path] != sum {
			t.Errorf("%s changed or appeared (a partial file?)", path)
		}
	}
	for path := range before {
		if _, ok := after[path]; !ok {
			t.Errorf("%s disappeared", path)
		}
	}
	entries, _ := os.ReadDir(filepath.Join(dir, name))
	for _, entry := range entries {
		if strings.HasPrefix(entry.Name(), ".download") || strings.HasPrefix(entry.Name(), ".staging") || strings.HasPrefix(entry.Name(), ".trash") {
			t.Errorf("left behind: %s", entry.Name())
		}
	}
}

// TestFaultsLeaveTheInstalledVersionIntact: each fault is refused with its kind, and 1.0.0 stays current and whole.
func TestFaultsLeaveTheInstalledVersionIntact(t *testing.T) {
	cases := []struct {
		name  string
		fault func(t *testing.T, p *storetest.Publisher, opts *fetch.Options)
		want  error
		says  string
	}{
		{"a byte of the binary altered", func(t *testing.T, p *storetest.Publisher, _ *fetch.Options) {
			file := p.Path(name + "/1.1.0/" + name + "-" + platform + ".tar.gz")
			data, _ := os.ReadFile(file)
			data[len(data)/2] ^= 1
			os.WriteFile(file, data, 0o644)
		}, fetch.ErrVerify, "sha256"},
		{"the index signed by an unknown key", func(t *testing.T, p *storetest.Publisher, _ *fetch.Options) {
			index, _ := os.ReadFile(p.Path(name + "/index.json"))
			_, other := storetest.NewKey(t)
			p.WriteIndex(index, minisign.SignWithComments(other, index, fmt.Sprintf("%s %d", name, p.Serial()), ""))
		}, fetch.ErrVerify, "not one of the trusted keys"},
		{"the index altered after signing", func(t *testing.T, p *storetest.Publisher, _ *fetch.Options) {
			index, _ := os.ReadFile(p.Path(name + "/index.json"))
			signature, _ := os.ReadFile(p.Path(name + "/index.json.minisig"))
			p.WriteIndex(bytes.Replace(index, []byte(`"latest": "1.1.0"`), []byte(`"latest":  "1.1.0"`), 1), signature)
		}, fetch.ErrVerify, "does not match"},
		{"a manifest signature moved from another platform", func(t *testing.T, p *storetest.Publisher, _ *fetch.Options) {
			base := p.Path(name + "/1.1.0/" + name + "-" + platform + ".tar.gz.manifest.json")
			manifest, _ := os.ReadFile(base)
			os.WriteFile(base+".minisig", p.Sign(manifest, name+" 1.1.0 windows-amd64"), 0o644)
		}, fetch.ErrVerify, "trusted comment"},
		{"an unsigned index", func(t *testing.T, p *storetest.Publisher, _ *fetch.Options) {
			index, _ := os.ReadFile(p.Path(name + "/index.json"))
			p.WriteIndex(index, nil)
		}, fetch.ErrVerify, "no signature"},
		{"an index replayed with a lower serial", func(t *testing.T, p *storetest.Publisher, opts *fetch.Options) {
			// The setup accepted serial 2; serial 1 (the first index, validly signed) comes back.
			p.WriteIndex(firstIndex[p], firstSignature[p])
		}, fetch.ErrVerify, "lower than 2"},
		{"an expired index", func(t *testing.T, p *storetest.Publisher, _ *fetch.Options) {
			p.Expires = time.Now().Add(-time.Hour)
			p.Publish()
		}, fetch.ErrVerify, "expired"},
		{"an archive entry escaping its folder", func(t *testing.T, p *storetest.Publisher, _ *fetch.Options) {
			p.Add("1.1.0", platform, storetest.TarGz(t,
				storetest.Entry{Name: "agent-runner/agent-runner", Body: "#!/bin/sh\n", Mode: 0o755},
				storetest.Entry{Name: "agent-runner/../../../escaped", Body: "owned"},
			), "onedir", "agent-runner/agent-runner")
			p.Publish()
		}, fetch.ErrVerify, "escapes its folder"},
		{"an archive link pointing out", func(t *testing.T, p *storetest.Publisher, _ *fetch.Options) {
			p.Add("1.1.0", platform, storetest.TarGz(t,
				storetest.Entry{Name: "agent-runner/agent-runner", Body: "#!/bin/sh\n", Mode: 0o755},
				storetest.Entry{Name: "agent-runner/etc", Type: '2', Linkname: "../../../../etc"},
				storetest.Entry{Name: "agent-runner/etc/evil", Body: "owned"},
			), "onedir", "agent-runner/agent-runner")
			p.Publish()
		}, fetch.ErrVerify, "points outside"},
		{"a version marked bad", func(t *testing.T, p *storetest.Publisher, opts *fetch.Options) {
			fetch.MarkBad(faultDir[p], name, "1.1.0", "health check failed", time.Second)
		}, fetch.ErrVerify, "marked bad"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			root, dir := t.TempDir(), t.TempDir()
			p := publishTwo(t, root)
			firstIndex[p], firstSignature[p] = mustRead(t, p.Path(name+"/index.json")), mustRead(t, p.Path(name+"/index.json.minisig"))
			faultDir[p] = dir
			p.Publish() // serial 2
			opts := options(p)
			mustFetch(t, fileStore(t, root), "1.0.0", dir, opts)
			before := snapshot(t, dir)
			c.fault(t, p, &opts)
			_, err := fetch.Fetch(context.Background(), fileStore(t, root), name, "1.1.0", dir, opts)
			if !errors.Is(err, c.want) || !strings.Contains(err.Error(), c.says) {
				t.Fatalf("got %v, want %v saying %q", err, c.want, c.says)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("the message is not one line: %q", err)
			}
			assertUntouched(t, dir, before)
			checkInstalled(t, dir, "1.0.0", "1.0.0")
			if _, err := os.Stat(filepath.Join(filepath.Dir(dir), "escaped")); err == nil {
				t.Error("an archive entry was written outside the folder")
			}
		})
	}
}

var firstIndex, firstSignature = map[*storetest.Publisher][]byte{}, map[*storetest.Publisher][]byte{}
var faultDir = map[*storetest.Publisher]string{}

func mustRead(t *testing.T, path string) []byte {
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func TestUnsignedOnlyWhenAllowed(t *testing.T) {
	root := t.TempDir()
	p := publishTwo(t, root)
	index := mustRead(t, p.Path(name+"/index.json"))
	p.WriteIndex(index, nil)
	os.Remove(p.Path(name + "/1.0.0/" + name + "-" + platform + ".manifest.json.minisig"))
	opts := fetch.Options{AllowUnsigned: true}
	dir := t.TempDir()
	mustFetch(t, fileStore(t, root), "1.0.0", dir, opts)
	record, _ := fetch.ReadRecord(dir, name, "1.0.0")
	if record.Signed {
		t.Fatal("an unsigned install is recorded as signed")
	}
	// Allowed unsigned is never allowed wrong: a bad signature still fails.
	p.WriteIndex(index, p.Sign(index, name+" 99"))
	if _, err := fetch.Fetch(context.Background(), fileStore(t, root), name, "1.0.0", t.TempDir(), fetch.Options{AllowUnsigned: true, Keys: []minisign.PublicKey{p.Public}}); !errors.Is(err, fetch.ErrVerify) {
		t.Fatalf("a wrong trusted comment with unsigned allowed: %v", err)
	}
}

// dropHost serves root, but drops the connection of the first download of file halfway, then answers 503 twice
// (the server is down), then serves again: the fetch must resume with a Range request.
type dropHost struct {
	root, file string
	requests   atomic.Int32
	mu         sync.Mutex
	ranges     []string
	dropped    int64
}

func (h *dropHost) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.HasSuffix(r.URL.Path, h.file) {
		n := h.requests.Add(1)
		h.mu.Lock()
		h.ranges = append(h.ranges, r.Header.Get("Range"))
		h.mu.Unlock()
		switch n {
		case 1:
			data, _ := os.ReadFile(filepath.Join(h.root, filepath.FromSlash(r.URL.Path)))
			h.mu.Lock()
			h.dropped = int64(len(data) / 2)
			h.mu.Unlock()
			w.Header().Set("Content-Length", fmt.Sprint(len(data)))
			w.WriteHeader(http.StatusOK)
			w.Write(data[:h.dropped])
			w.(http.Flusher).Flush()
			conn, _, _ := w.(http.Hijacker).Hijack()
			conn.(*net.TCPConn).SetLinger(0)
			conn.Close()
			return
		case 2, 3:
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
	}
	http.FileServer(http.Dir(h.root)).ServeHTTP(w, r)
}

func TestDownloadResumesAfterTheServerDropsAndComesBack(t *testing.T) {
	root := t.TempDir()
	p := storetest.New(t, root, name)
	p.Add("1.0.0", platform, program("1.0.0", 3<<20), "onefile", "")
	p.Channel("latest", "1.0.0")
	p.Publish()
	host := &dropHost{root: root, file: "1.0.0/" + name + "-" + platform}
	server := httptest.NewServer(host)
	defer server.Close()
	store, _ := fetch.OpenStore(server.URL, fetch.StoreOptions{})
	dir := t.TempDir()
	result := mustFetch(t, store, "latest", dir, options(p))
	checkInstalled(t, dir, "1.0.0", "1.0.0")
	if result.Resumed != 1 {
		t.Fatalf("resumed %d times", result.Resumed)
	}
	// The retry asks for the rest from what arrived before the drop (at most what the server sent: a reset
	// connection can lose bytes in flight), and the server's 503s in between do not move it.
	host.mu.Lock()
	ranges, dropped := host.ranges, host.dropped
	host.mu.Unlock()
	var from int64
	if len(ranges) != 4 || ranges[0] != "" || ranges[1] != ranges[3] || ranges[2] != ranges[3] {
		t.Fatalf("requests' ranges %q", ranges)
	}
	if _, err := fmt.Sscanf(ranges[3], "bytes=%d-", &from); err != nil || from <= 0 || from > dropped {
		t.Fatalf("resumed with %q after the server sent %d bytes", ranges[3], dropped)
	}
	// With the retries used up while the server is down: refused, nothing left.
	host.requests.Store(0)
	dir2 := t.TempDir()
	opts := options(p)
	opts.Retries = 1
	if _, err := fetch.Fetch(context.Background(), store, name, "latest", dir2, opts); !errors.Is(err, fetch.ErrUnavailable) {
		t.Fatalf("server down: %v", err)
	}
	assertUntouched(t, dir2, map[string]string{})
}

// TestFullDisk: a 2 MiB binary into a folder with 1 MiB of room fails with a disk message and leaves nothing.
// As root (CI) the folder is a 1 MiB tmpfs; otherwise a child process of this test with RLIMIT_FSIZE at 1 MiB
// (writes past it fail with EFBIG) does the fetch.
func TestFullDisk(t *testing.T) {
	dir := t.TempDir()
	root := t.TempDir()
	p := storetest.New(t, root, name)
	p.Add("1.0.0", platform, program("1.0.0", 200<<10), "onefile", "")
	p.Add("1.1.0", platform, program("1.1.0", 2<<20), "onefile", "")
	p.Publish()
	var message string
	if os.Geteuid() == 0 {
		if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", dir).CombinedOutput(); err != nil {
			t.Fatalf("mount a 1 MiB tmpfs: %v %s", err, out)
		}
		defer exec.Command("umount", dir).Run()
		mustFetch(t, fileStore(t, root), "1.0.0", dir, options(p))
		before := snapshot(t, dir)
		_, err := fetch.Fetch(context.Background(), fileStore(t, root), name, "1.1.0", dir, options(p))
		if !errors.Is(err, fetch.ErrInstall) {
			t.Fatalf("full disk: %v", err)
		}
		message = err.Error()
		assertUntouched(t, dir, before)
		var stat syscall.Statfs_t
		syscall.Statfs(dir, &stat)
		if free := stat.Bfree * uint64(stat.Bsize); free < 700<<10 {
			t.Fatalf("only %d bytes free after the failed fetch: a partial file is left", free)
		}
	} else {
		mustFetch(t, fileStore(t, root), "1.0.0", dir, options(p))
		before := snapshot(t, dir)
		child := exec.Command(os.Args[0], "-test.run=^TestFullDiskChild$", "-test.v")
		child.Env = append(os.Environ(), "STIGMER_FULLDISK="+strings.Join([]string{root, dir, p.Public.String()}, "\n"))
		out, _ := child.CombinedOutput()
		message = string(out)
		if !strings.Contains(message, "full disk refused: ") {
			t.Fatalf("the size-limited child did not fail as expected:\n%s", out)
		}
		assertUntouched(t, dir, before)
	}
	if !strings.Contains(message, "free space in the install folder") {
		t.Fatalf("full disk: %s", message)
	}
	checkInstalled(t, dir, "1.0.0", "1.0.0")
}

// TestFullDiskChild is TestFullDisk's size-limited process (not a test of its own).
func TestFullDiskChild(t *testing.T) {
	spec := os.Getenv("STIGMER_FULLDISK")
	if spec == "" {
		t.Skip("run by TestFullDisk without root")
	}
	parts := strings.Split(spec, "\n")
	key, _ := fetch.ParsePublicKey(parts[2])
	signal.Ignore(syscall.SIGXFSZ)
	if err := syscall.Setrlimit(syscall.RLIMIT_FSIZE, &syscall.Rlimit{Cur: 1 << 20, Max: 1 << 20}); err != nil {
		t.Fatal(err)
	}
	_, err := fetch.Fetch(context.Background(), fileStore(t, parts[0]), name, "1.1.0", parts[1], fetch.Options{Keys: []minisign.PublicKey{key}})
	if !errors.Is(err, fetch.ErrInstall) {
		t.Fatalf("got %v", err)
	}
	fmt.Println("full disk refused:", err)
}

// TestTwoAgentsOnOneFolder: the folder's lock refuses a second agent at once, or makes it wait its turn.
func TestTwoAgentsOnOneFolder(t *testing.T) {
	root := t.TempDir()
	p := publishTwo(t, root)
	dir := t.TempDir()
	lock, err := fetch.LockService(dir, name, 0)
	if err != nil {
		t.Fatal(err)
	}
	_, err = fetch.Fetch(context.Background(), fileStore(t, root), name, "1.0.0", dir, options(p))
	if !errors.Is(err, fetch.ErrBusy) || !strings.Contains(err.Error(), fmt.Sprint(os.Getpid())) {
		t.Fatalf("second agent: %v", err)
	}
	lock.Unlock()
	// Two agents at once, each waiting for the other: both finish, both versions whole, current is one of them.
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i, v := range []string{"1.0.0", "1.1.0"} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			opts := options(p)
			opts.LockWait = 10 * time.Second
			_, errs[i] = fetch.Fetch(context.Background(), fileStore(t, root), name, v, dir, opts)
		}()
	}
	wg.Wait()
	if errs[0] != nil || errs[1] != nil {
		t.Fatalf("%v / %v", errs[0], errs[1])
	}
	for _, v := range []string{"1.0.0", "1.1.0"} {
		record, err := fetch.ReadRecord(dir, name, v)
		if err != nil {
			t.Fatal(err)
		}
		if out, err := exec.Command(record.Executable(dir)).Output(); err != nil || strings.TrimSpace(string(out)) != v {
			t.Fatalf("%s: %q %v", v, out, err)
		}
	}
}

// TestRealMinisign: `minisign -V` accepts what this package's signer makes, and Fetch accepts what `minisign -S` makes.
func TestRealMinisign(t *testing.T) {
	tool, err := exec.LookPath("minisign")
	if err != nil {
		t.Fatal("minisign is not installed: `node scripts/test-tools.js` installs it (Debian package minisign)")
	}
	root := t.TempDir()
	p := publishTwo(t, root)
	pub := filepath.Join(t.TempDir(), "key.pub")
	text, _ := p.Public.MarshalText()
	os.WriteFile(pub, text, 0o644)
	for _, key := range []string{name + "/index.json", name + "/1.1.0/" + name + "-" + platform + ".tar.gz.manifest.json"} {
		out, err := exec.Command(tool, "-V", "-p", pub, "-m", p.Path(key)).CombinedOutput()
		if err != nil || !strings.Contains(string(out), "Trusted comment: "+name+" ") {
			t.Fatalf("minisign -V %s: %v %s", key, err, out)
		}
	}
	// A key and signatures made by the real tool.
	keys := t.TempDir()
	if out, err := exec.Command(tool, "-G", "-W", "-p", filepath.Join(keys, "real.pub"), "-s", filepath.Join(keys, "real.key")).CombinedOutput(); err != nil {
		t.Fatalf("minisign -G: %v %s", err, out)
	}
	sign := func(key, trusted string) {
		if out, err := exec.Command(tool, "-S", "-s", filepath.Join(keys, "real.key"), "-m", p.Path(key), "-t", trusted).CombinedOutput(); err != nil {
			t.Fatalf("minisign -S: %v %s", err, out)
		}
	}
	sign(name+"/index.json", fmt.Sprintf("%s %d", name, p.Serial()))
	sign(name+"/1.1.0/"+name+"-"+platform+".tar.gz.manifest.json", name+" 1.1.0 "+platform)
	realKey, err := fetch.ParsePublicKey(string(mustRead(t, filepath.Join(keys, "real.pub"))))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	mustFetch(t, fileStore(t, root), "1.1.0", dir, fetch.Options{Keys: []minisign.PublicKey{realKey}})
	checkInstalled(t, dir, "1.1.0", "1.1.0")
	// And the key the index lists is the id minisign prints.
	if !bytes.Contains(mustRead(t, pub), []byte(storetest.KeyID(p.Public))) {
		t.Fatalf("key id %s is not the one in %s", storetest.KeyID(p.Public), mustRead(t, pub))
	}
}

var _ = io.EOF

func TestChangedBytesUnderAnInstalledVersionAreRefused(t *testing.T) {
	root, dir := t.TempDir(), t.TempDir()
	p := publishTwo(t, root)
	mustFetch(t, fileStore(t, root), "1.0.0", dir, options(p))
	before := snapshot(t, dir)
	p.Add("1.0.0", platform, program("1.0.0-evil", 4096), "onefile", "")
	p.Publish()
	_, err := fetch.Fetch(context.Background(), fileStore(t, root), name, "1.0.0", dir, options(p))
	if !errors.Is(err, fetch.ErrVerify) || !strings.Contains(err.Error(), "never changes") {
		t.Fatalf("got %v", err)
	}
	assertUntouched(t, dir, before)
	checkInstalled(t, dir, "1.0.0", "1.0.0")
}
