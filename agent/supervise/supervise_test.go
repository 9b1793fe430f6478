//go:build unix

package supervise_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"aead.dev/minisign"

	"github.com/stigmer/stigmer/agent/fetch"
	"github.com/stigmer/stigmer/agent/internal/storetest"
	"github.com/stigmer/stigmer/agent/supervise"
)

const name = "svc"

var childBinary []byte

// TestMain builds the test service (testdata/child) once.
func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "stigmer-agent-child-")
	if err != nil {
		panic(err)
	}
	out := filepath.Join(dir, "child")
	build := exec.Command("go", "build", "-o", out, "./testdata/child")
	build.Stderr = os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building testdata/child:", err)
		os.Exit(1)
	}
	childBinary, _ = os.ReadFile(out)
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

var badProgram = []byte("#!/bin/sh\necho 'bad release: cannot start' >&2\nexit 3\n")

type fixture struct {
	t        *testing.T
	p        *storetest.Publisher
	store    fetch.Store
	dir      string
	mu       sync.Mutex
	statuses []supervise.Status
	changed  chan struct{}
}

// newFixture publishes 1.0.0 of the test service into a folder store and installs it.
func newFixture(t *testing.T) *fixture {
	root := t.TempDir()
	f := &fixture{t: t, p: storetest.New(t, root, name), dir: t.TempDir(), changed: make(chan struct{}, 1000)}
	f.p.Add("1.0.0", fetch.CurrentPlatform(), childBinary, "onefile", "")
	f.p.Channel("latest", "1.0.0")
	f.p.Publish()
	f.store, _ = fetch.OpenStore("file://"+root, fetch.StoreOptions{})
	if _, err := fetch.Fetch(context.Background(), f.store, name, "latest", f.dir, f.options()); err != nil {
		t.Fatal(err)
	}
	return f
}

func (f *fixture) options() fetch.Options {
	return fetch.Options{Keys: []minisign.PublicKey{f.p.Public}}
}

func (f *fixture) config() supervise.Config {
	return supervise.Config{Dir: f.dir, Name: name, MinBackoff: 20 * time.Millisecond, MaxBackoff: 200 * time.Millisecond,
		StableAfter: time.Second, Grace: 2 * time.Second, Store: f.store, FetchOptions: f.options(),
		OnStatus: func(s supervise.Status) {
			f.mu.Lock()
			f.statuses = append(f.statuses, s)
			f.mu.Unlock()
			select {
			case f.changed <- struct{}{}:
			default:
			}
		}}
}

// start runs a supervisor until the test ends.
func (f *fixture) start(cfg supervise.Config) *supervise.Supervisor {
	s, err := supervise.New(cfg)
	if err != nil {
		f.t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	f.t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			f.t.Errorf("Run: %v", err)
		}
	})
	return s
}

// wait polls the status until ok says so, or fails the test after timeout.
func (f *fixture) wait(s *supervise.Supervisor, what string, timeout time.Duration, ok func(supervise.Status) bool) supervise.Status {
	f.t.Helper()
	deadline := time.After(timeout)
	for {
		status := s.Status()
		if ok(status) {
			return status
		}
		select {
		case <-f.changed:
		case <-time.After(20 * time.Millisecond):
		case <-deadline:
			f.t.Fatalf("waiting for %s: status %+v", what, status)
		}
	}
}

func running(version string) func(supervise.Status) bool {
	return func(s supervise.Status) bool { return s.State == "running" && s.Version == version && s.PID > 0 }
}

func readLog(t *testing.T, path string) string {
	data, _ := os.ReadFile(path)
	return string(data)
}

func waitLog(t *testing.T, path, text string) string {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if log := readLog(t, path); strings.Contains(log, text) {
			return log
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("%s never said %q:\n%s", path, text, readLog(t, path))
	return ""
}

// TestRestartsAfterKillAndPassesOnlyItsEnvironment: kill -9 of the child restarts it and counts it; the env file
// and explicit variables arrive, nothing else of the agent's environment does.
func TestRestartsAfterKillAndPassesOnlyItsEnvironment(t *testing.T) {
	f := newFixture(t)
	t.Setenv("LEAK", "the-agent's-own-variable")
	envFile := filepath.Join(t.TempDir(), "svc.env")
	os.WriteFile(envFile, []byte("# service settings\nGREETING=\"from the env file\"\nexport OTHER=1\n"), 0o600)
	cfg := f.config()
	cfg.EnvFile, cfg.Env, cfg.Args = envFile, map[string]string{"PATH": "/explicit/bin"}, []string{"--port", "1"}
	s := f.start(cfg)
	first := f.wait(s, "1.0.0 running", 5*time.Second, running("1.0.0"))
	log := waitLog(t, filepath.Join(f.dir, name, "logs", name+".log"), "child 1.0.0 pid")
	if !strings.Contains(log, "GREETING=from the env file LEAK= PATH=/explicit/bin args=--port,1") {
		t.Fatalf("the child's environment:\n%s", log)
	}
	if !regexp.MustCompile(`(?m)^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z stderr child stderr line$`).MatchString(log) {
		t.Fatalf("stderr is not in the log with a timestamp:\n%s", log)
	}
	if err := syscall.Kill(first.PID, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	second := f.wait(s, "a restart", 5*time.Second, func(st supervise.Status) bool {
		return st.Restarts == 1 && st.State == "running" && st.PID != first.PID
	})
	if second.LastExit == nil || second.LastExit.Signal != "killed" {
		t.Fatalf("last exit: %+v", second.LastExit)
	}
	// The status file says the same for monitoring.
	data, _ := os.ReadFile(filepath.Join(f.dir, name, "status.json"))
	if !strings.Contains(string(data), fmt.Sprintf(`"pid": %d`, second.PID)) || !strings.Contains(string(data), `"restarts": 1`) {
		t.Fatalf("status.json: %s", data)
	}
}

func TestLogsRotateBySize(t *testing.T) {
	f := newFixture(t)
	cfg := f.config()
	cfg.Env = map[string]string{"CHILD_SPAM": "400"}
	cfg.LogDir, cfg.LogMaxBytes, cfg.LogKeep = t.TempDir(), 4096, 2
	s := f.start(cfg)
	f.wait(s, "running", 5*time.Second, running("1.0.0"))
	path := filepath.Join(cfg.LogDir, name+".log")
	waitLog(t, path+".2", "spam line")
	time.Sleep(200 * time.Millisecond)
	if _, err := os.Stat(path + ".3"); err == nil {
		t.Fatal("more rotated files than LogKeep")
	}
	for _, file := range []string{path, path + ".1", path + ".2"} {
		info, err := os.Stat(file)
		if err != nil || info.Size() > 4096 {
			t.Fatalf("%s: %v, %d bytes", file, err, info.Size())
		}
	}
	if !strings.Contains(readLog(t, path), "spam line 399 of 400") {
		t.Fatalf("the newest lines are not in %s", path)
	}
}

// TestStopKillsTheWholeGroup: a child that ignores SIGTERM is killed after the grace, with its own child.
func TestStopKillsTheWholeGroup(t *testing.T) {
	f := newFixture(t)
	cfg := f.config()
	pidFile := filepath.Join(t.TempDir(), "grandchild.pid")
	cfg.Env = map[string]string{"CHILD_STUBBORN": pidFile}
	cfg.Grace = 300 * time.Millisecond
	s, err := supervise.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	status := f.wait(s, "running", 5*time.Second, running("1.0.0"))
	var grandchild int
	for i := 0; i < 100 && grandchild == 0; i++ {
		data, _ := os.ReadFile(pidFile)
		grandchild, _ = strconv.Atoi(string(data))
		time.Sleep(20 * time.Millisecond)
	}
	if grandchild == 0 {
		t.Fatal("the child did not start its grandchild")
	}
	began := time.Now()
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if took := time.Since(began); took < 300*time.Millisecond {
		t.Fatalf("stopped in %s: SIGTERM was not ignored, the test proves nothing", took)
	}
	for _, pid := range []int{status.PID, grandchild} {
		if alive(pid, time.Second) {
			t.Errorf("pid %d outlived the stop", pid)
		}
	}
	if final := s.Status(); final.State != "stopped" || final.PID != 0 {
		t.Fatalf("final status %+v", final)
	}
}

func TestCrashLoopStopsRestarting(t *testing.T) {
	f := newFixture(t)
	f.p.Add("0.9.0", fetch.CurrentPlatform(), badProgram, "onefile", "")
	f.p.Publish()
	if _, err := fetch.Fetch(context.Background(), f.store, name, "0.9.0", f.dir, f.options()); err != nil {
		t.Fatal(err)
	}
	cfg := f.config()
	cfg.CrashLoopLimit = 3
	s := f.start(cfg)
	status := f.wait(s, "crash-loop", 10*time.Second, func(st supervise.Status) bool { return st.State == "crash-loop" })
	if status.Restarts != 3 || status.LastExit == nil || status.LastExit.Code != 3 || !strings.Contains(status.Message, "not restarted") {
		t.Fatalf("status %+v", status)
	}
	time.Sleep(300 * time.Millisecond)
	if again := s.Status(); again.Restarts != 3 {
		t.Fatalf("restarted in a crash loop: %+v", again)
	}
}

func freeAddr(t *testing.T) string {
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer listener.Close()
	return listener.Addr().String()
}

func get(url string) string {
	response, err := http.Get(url)
	if err != nil {
		return ""
	}
	defer response.Body.Close()
	body, _ := io.ReadAll(response.Body)
	return strings.TrimSpace(string(body))
}

// TestUpgradeThenAutomaticRollback: 1.1.0 in the channel is fetched, started, checked and kept; 1.2.0 exits at start,
// fails the check, and the agent is back on 1.1.0 by itself, with 1.2.0 marked bad and the status saying why.
func TestUpgradeThenAutomaticRollback(t *testing.T) {
	f := newFixture(t)
	addr := freeAddr(t)
	cfg := f.config()
	cfg.Env = map[string]string{"CHILD_ADDR": addr}
	cfg.Health = supervise.Health{Window: time.Second, URL: "http://" + addr + "/health"}
	s := f.start(cfg)
	f.wait(s, "1.0.0 running", 5*time.Second, running("1.0.0"))

	f.p.Add("1.1.0", fetch.CurrentPlatform(), childBinary, "onefile", "")
	f.p.Channel("latest", "1.1.0")
	f.p.Publish()
	s.Check()
	status := f.wait(s, "upgrade to 1.1.0", 10*time.Second, func(st supervise.Status) bool { return st.Upgrade != nil && st.Upgrade.To == "1.1.0" })
	if !status.Upgrade.OK || status.Version != "1.1.0" || fetch.Current(f.dir, name) != "1.1.0" {
		t.Fatalf("upgrade: %+v %+v", status, status.Upgrade)
	}
	if answer := get(cfg.Health.URL); answer != "1.1.0" {
		t.Fatalf("the new version answers %q", answer)
	}
	if _, err := fetch.ReadRecord(f.dir, name, "1.0.0"); err != nil {
		t.Fatal("the previous version was removed after the upgrade:", err)
	}

	f.p.Add("1.2.0", fetch.CurrentPlatform(), badProgram, "onefile", "")
	f.p.Channel("latest", "1.2.0")
	f.p.Publish()
	s.Check()
	status = f.wait(s, "the 1.2.0 attempt", 10*time.Second, func(st supervise.Status) bool { return st.Upgrade != nil && st.Upgrade.To == "1.2.0" })
	up := status.Upgrade
	if up.OK || !up.RolledBack || !strings.Contains(up.Reason, "exited during the health window (code 3") || up.Seconds > cfg.Health.Window.Seconds()+2 {
		t.Fatalf("rollback report %+v", up)
	}
	if status.Version != "1.1.0" || status.State != "running" || fetch.Current(f.dir, name) != "1.1.0" {
		t.Fatalf("not back on 1.1.0: %+v", status)
	}
	if answer := get(cfg.Health.URL); answer != "1.1.0" {
		// The restored child may need a moment to bind.
		time.Sleep(300 * time.Millisecond)
		if answer = get(cfg.Health.URL); answer != "1.1.0" {
			t.Fatalf("after the rollback the service answers %q", answer)
		}
	}
	state, _ := fetch.ReadState(f.dir, name)
	if !strings.Contains(state.Bad["1.2.0"], "exited during the health window") || !strings.Contains(status.Bad["1.2.0"], "exited") {
		t.Fatalf("1.2.0 is not marked bad: %+v / %+v", state.Bad, status.Bad)
	}
	log := readLog(t, filepath.Join(f.dir, name, "logs", name+".log"))
	if !strings.Contains(log, "bad release: cannot start") {
		t.Fatalf("the bad version's output is not in the log:\n%s", log)
	}
	// Asked again, the agent does not retry the bad version.
	s.Check()
	time.Sleep(300 * time.Millisecond)
	if again := s.Status(); again.Upgrade.At != up.At || again.Version != "1.1.0" {
		t.Fatalf("the bad version was tried again: %+v", again.Upgrade)
	}
}

// TestUpgradeKeepsRunningWhenTheFetchIsRefused: a tampered new version is never started.
func TestUpgradeKeepsRunningWhenTheFetchIsRefused(t *testing.T) {
	f := newFixture(t)
	s := f.start(f.config())
	first := f.wait(s, "1.0.0 running", 5*time.Second, running("1.0.0"))
	key := f.p.Add("1.1.0", fetch.CurrentPlatform(), childBinary, "onefile", "")
	f.p.Channel("latest", "1.1.0")
	f.p.Publish()
	data, _ := os.ReadFile(f.p.Path(key))
	data[len(data)/3] ^= 0xff
	os.WriteFile(f.p.Path(key), data, 0o644)
	s.Check()
	status := f.wait(s, "the refused upgrade", 10*time.Second, func(st supervise.Status) bool { return st.Upgrade != nil })
	if status.Upgrade.OK || !strings.Contains(status.Upgrade.Reason, "sha256") || status.PID != first.PID || status.Restarts != 0 {
		t.Fatalf("%+v %+v", status, status.Upgrade)
	}
}

func TestSecondSupervisorIsRefused(t *testing.T) {
	f := newFixture(t)
	s := f.start(f.config())
	f.wait(s, "running", 5*time.Second, running("1.0.0"))
	second, _ := supervise.New(f.config())
	if err := second.Run(context.Background()); !errors.Is(err, fetch.ErrBusy) {
		t.Fatalf("a second supervisor on the folder: %v", err)
	}
}

// alive says whether pid is still a live process (not a zombie) after waiting up to wait for it to go.
func alive(pid int, wait time.Duration) bool {
	deadline := time.Now().Add(wait)
	for {
		stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil || syscall.Kill(pid, 0) != nil {
			return false
		}
		// The state follows the command in parentheses: Z is a zombie (killed, not yet reaped by init).
		if fields := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+1:])); len(fields) > 0 && fields[0] == "Z" {
			return false
		}
		if time.Now().After(deadline) {
			return true
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestVersionThatStaysUpButFailsItsCheckIsRolledBack: the health URL or the health command decide too.
func TestVersionThatStaysUpButFailsItsCheckIsRolledBack(t *testing.T) {
	for _, c := range []struct {
		name   string
		health func(addr string) supervise.Health
		says   string
	}{
		{"URL not 2xx", func(addr string) supervise.Health {
			return supervise.Health{Window: 300 * time.Millisecond, URL: "http://" + addr + "/missing"}
		}, "did not answer 2xx within 300ms (last: 404 Not Found)"},
		{"command fails", func(string) supervise.Health {
			return supervise.Health{Window: 300 * time.Millisecond, Command: []string{"false"}}
		}, "health command false failed: exit status 1"},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := newFixture(t)
			addr := freeAddr(t)
			cfg := f.config()
			cfg.Env = map[string]string{"CHILD_ADDR": addr, "PATH": os.Getenv("PATH")}
			cfg.Health = c.health(addr)
			s := f.start(cfg)
			first := f.wait(s, "1.0.0 running", 5*time.Second, running("1.0.0"))
			f.p.Add("1.1.0", fetch.CurrentPlatform(), childBinary, "onefile", "")
			f.p.Channel("latest", "1.1.0")
			f.p.Publish()
			s.Check()
			status := f.wait(s, "the 1.1.0 attempt", 10*time.Second, func(st supervise.Status) bool { return st.Upgrade != nil })
			if status.Upgrade.OK || !status.Upgrade.RolledBack || !strings.Contains(status.Upgrade.Reason, c.says) {
				t.Fatalf("report %+v", status.Upgrade)
			}
			if status.Version != "1.0.0" || status.PID == first.PID || fetch.Current(f.dir, name) != "1.0.0" {
				t.Fatalf("not back on 1.0.0: %+v", status)
			}
			if _, err := fetch.ReadRecord(f.dir, name, "1.1.0"); err != nil {
				t.Fatal("the bad version's files are gone (kept for a look):", err)
			}
		})
	}
}

// TestPollingFindsTheNewVersion: with an interval and no Check, the channel is read and followed.
func TestPollingFindsTheNewVersion(t *testing.T) {
	f := newFixture(t)
	cfg := f.config()
	cfg.Poll, cfg.Health.Window = 100*time.Millisecond, 200*time.Millisecond
	s := f.start(cfg)
	f.wait(s, "1.0.0 running", 5*time.Second, running("1.0.0"))
	f.p.Add("1.1.0", fetch.CurrentPlatform(), childBinary, "onefile", "")
	f.p.Channel("latest", "1.1.0")
	f.p.Publish()
	status := f.wait(s, "the polled upgrade", 10*time.Second, func(st supervise.Status) bool { return st.Upgrade != nil && st.Upgrade.OK })
	if status.Version != "1.1.0" || fetch.Current(f.dir, name) != "1.1.0" {
		t.Fatalf("%+v", status)
	}
}

// TestUnstartableVersionIsRetriedUntilTheCrashLoopLimit: a file that cannot be executed counts as a crash.
func TestUnstartableVersionIsRetriedUntilTheCrashLoopLimit(t *testing.T) {
	f := newFixture(t)
	cfg := f.config()
	cfg.CrashLoopLimit = 2
	cfg.Store = nil // follow `current` only: the channel would take it back to 1.0.0
	s := f.start(cfg)
	f.wait(s, "1.0.0 running", 5*time.Second, running("1.0.0"))
	f.p.Add("1.1.0", fetch.CurrentPlatform(), []byte("not a program"), "onefile", "")
	f.p.Publish()
	if _, err := fetch.Fetch(context.Background(), f.store, name, "1.1.0", f.dir, f.options()); err != nil {
		t.Fatal(err)
	}
	// `current` moved by hand (as `stigmer-agent rollback --to 1.1.0` does), then the agent is told.
	s.Check()
	status := f.wait(s, "crash-loop", 10*time.Second, func(st supervise.Status) bool { return st.State == "crash-loop" })
	if status.Version != "1.1.0" || status.Restarts != 2 || status.LastExit == nil || !strings.Contains(status.LastExit.Error, "exec format error") {
		t.Fatalf("%+v %+v", status, status.LastExit)
	}
}
