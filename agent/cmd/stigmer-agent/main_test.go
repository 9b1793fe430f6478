//go:build unix

package main_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stigmer/stigmer/agent/fetch"
	"github.com/stigmer/stigmer/agent/internal/storetest"
	"github.com/stigmer/stigmer/agent/supervise"
)

var agent, child string

// TestMain builds stigmer-agent and the test service.
func TestMain(m *testing.M) {
	dir, _ := os.MkdirTemp("", "stigmer-agent-cli-")
	agent, child = filepath.Join(dir, "stigmer-agent"), filepath.Join(dir, "child")
	for out, pkg := range map[string]string{agent: ".", child: "../../supervise/testdata/child"} {
		build := exec.Command("go", "build", "-o", out, pkg)
		build.Stderr = os.Stderr
		if err := build.Run(); err != nil {
			fmt.Fprintln(os.Stderr, "go build", pkg, err)
			os.Exit(1)
		}
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

type result struct {
	code           int
	stdout, stderr string
}

func cli(t *testing.T, env []string, args ...string) result {
	t.Helper()
	cmd := exec.Command(agent, args...)
	cmd.Env = append(os.Environ(), env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	if exit, ok := err.(*exec.ExitError); ok {
		code = exit.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return result{code, stdout.String(), stderr.String()}
}

func expect(t *testing.T, r result, code int, says string) {
	t.Helper()
	out := r.stdout
	if code != 0 {
		out = r.stderr
		if strings.Count(strings.TrimSpace(r.stderr), "\n") != 0 {
			t.Errorf("the error is not one line: %q", r.stderr)
		}
	}
	if r.code != code || !strings.Contains(out, says) {
		t.Fatalf("exit %d (want %d), stdout %q, stderr %q, want %q", r.code, code, r.stdout, r.stderr, says)
	}
}

func publish(t *testing.T, p *storetest.Publisher, version string, data []byte) {
	p.Add(version, fetch.CurrentPlatform(), data, "onefile", "")
	p.Channel("latest", version)
	p.Publish()
}

func TestFetchFromS3AndExitCodes(t *testing.T) {
	s3 := storetest.S3Server(t)
	root := t.TempDir()
	p := storetest.New(t, root, "svc")
	service, _ := os.ReadFile(child)
	publish(t, p, "1.0.0", service)
	bucket := s3.Bucket(t)
	s3.Upload(t, root, bucket, "bin")
	pub := filepath.Join(t.TempDir(), "publisher.pub")
	text, _ := p.Public.MarshalText()
	os.WriteFile(pub, text, 0o644)
	env := []string{"AWS_ACCESS_KEY_ID=" + s3.AccessKey, "AWS_SECRET_ACCESS_KEY=" + s3.SecretKey, "AWS_ENDPOINT_URL_S3=" + s3.Endpoint}
	dir := t.TempDir()
	from := "s3://" + bucket + "/bin"
	expect(t, cli(t, env, "fetch", "svc@latest", "--from", from, "--to", dir, "--key", pub), 0, "installed svc 1.0.0")
	if fetch.Current(dir, "svc") != "1.0.0" {
		t.Fatal("current does not point at 1.0.0")
	}
	other, _ := storetest.NewKey(t)
	expect(t, cli(t, env, "fetch", "svc", "--from", from, "--to", t.TempDir(), "--key", other.String()), 3, "not one of the trusted keys")
	expect(t, cli(t, env, "fetch", "svc", "--from", from, "--to", t.TempDir()), 3, "no trusted public key")
	expect(t, cli(t, env, "fetch", "svc@1.0.0", "--from", from, "--to", t.TempDir(), "--key", pub, "--platform", "darwin-arm64"), 4, "it has: "+fetch.CurrentPlatform())
	expect(t, cli(t, env, "fetch", "nothing", "--from", from, "--to", t.TempDir(), "--key", pub), 4, "does not exist")
	expect(t, cli(t, env, "fetch", "svc", "--from", "ftp://x", "--to", dir), 2, "unknown scheme")
	expect(t, cli(t, env, "fetch", "svc", "--from", "http://127.0.0.1:1", "--to", t.TempDir(), "--key", pub, "--retries", "1"), 5, "connection refused")
	denied := append(env, "AWS_SECRET_ACCESS_KEY=wrong-secret")
	expect(t, cli(t, denied, "fetch", "svc", "--from", from, "--to", t.TempDir(), "--key", pub), 5, "refused the credentials")
	expect(t, cli(t, nil, "status", "svc", "--dir", dir), 8, "no status")
}

func readStatus(t *testing.T, dir string) supervise.Status {
	var status supervise.Status
	data, _ := os.ReadFile(filepath.Join(dir, "svc", "status.json"))
	json.Unmarshal(data, &status)
	return status
}

func waitStatus(t *testing.T, dir, what string, ok func(supervise.Status) bool) supervise.Status {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if status := readStatus(t, dir); ok(status) {
			return status
		}
		time.Sleep(25 * time.Millisecond)
	}
	t.Fatalf("waiting for %s: %+v", what, readStatus(t, dir))
	return supervise.Status{}
}

// TestRunUpgradeRollbackStatus drives `run`, an upgrade on SIGHUP, `status --json`, `rollback` and a second agent.
func TestRunUpgradeRollbackStatus(t *testing.T) {
	root, dir := t.TempDir(), t.TempDir()
	p := storetest.New(t, root, "svc")
	service, _ := os.ReadFile(child)
	publish(t, p, "1.0.0", service)
	envFile := filepath.Join(t.TempDir(), "svc.env")
	os.WriteFile(envFile, []byte("GREETING=hello-from-env-file\n"), 0o600)
	run := exec.Command(agent, "run", "svc", "--from", "file://"+root, "--dir", dir, "--key", p.Public.String(), "--env-file", envFile,
		"--health-window", "500ms", "--poll", "0", "--grace", "2s", "--log-dir", filepath.Join(dir, "logs"))
	var runOut bytes.Buffer
	run.Stdout, run.Stderr = &runOut, &runOut
	if err := run.Start(); err != nil {
		t.Fatal(err)
	}
	// On a failed test, the agent still stops its service (SIGTERM), so no child outlives the test.
	defer func() {
		if run.ProcessState == nil {
			run.Process.Signal(syscall.SIGTERM)
			run.Wait()
		}
	}()
	first := waitStatus(t, dir, "1.0.0 running", func(s supervise.Status) bool { return s.Version == "1.0.0" && s.State == "running" })
	expect(t, cli(t, nil, "status", "svc", "--dir", dir), 0, "svc 1.0.0 running pid")
	second := cli(t, nil, "run", "svc", "--from", "file://"+root, "--dir", dir, "--allow-unsigned")
	expect(t, second, 6, "locked by another agent")

	publish(t, p, "1.1.0", service)
	run.Process.Signal(syscall.SIGHUP)
	waitStatus(t, dir, "1.1.0 running", func(s supervise.Status) bool { return s.Version == "1.1.0" && s.Upgrade != nil && s.Upgrade.OK })
	status := cli(t, nil, "status", "svc", "--dir", dir, "--json")
	var parsed supervise.Status
	if err := json.Unmarshal([]byte(status.stdout), &parsed); err != nil || status.code != 0 || parsed.Version != "1.1.0" || parsed.PID == first.PID || parsed.Uptime <= 0 {
		t.Fatalf("status --json: %+v %v", status, err)
	}

	expect(t, cli(t, nil, "rollback", "svc", "--dir", dir), 0, "rolled back svc from 1.1.0 to 1.0.0")
	back := waitStatus(t, dir, "back on 1.0.0", func(s supervise.Status) bool { return s.Version == "1.0.0" && s.State == "running" })
	if back.Bad["1.1.0"] == "" && readBad(t, dir)["1.1.0"] == "" {
		t.Fatal("1.1.0 is not marked bad after the rollback")
	}
	log, _ := os.ReadFile(filepath.Join(dir, "logs", "svc.log"))
	if !strings.Contains(string(log), "GREETING=hello-from-env-file") {
		t.Fatalf("log: %s", log)
	}
	run.Process.Signal(syscall.SIGTERM)
	if err := run.Wait(); err != nil {
		t.Fatalf("run ended with %v: %s", err, runOut.String())
	}
	expect(t, cli(t, nil, "status", "svc", "--dir", dir), 8, "svc is stopped")
	expect(t, cli(t, nil, "rollback", "svc", "--dir", t.TempDir()), 9, "no previous good version")
}

func readBad(t *testing.T, dir string) map[string]string {
	state, _ := fetch.ReadState(dir, "svc")
	return state.Bad
}
