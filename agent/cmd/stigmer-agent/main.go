// Command stigmer-agent fetches, verifies, runs and upgrades a service published by stigmer's publish-binary.
//
//	stigmer-agent fetch <name>[@version|@channel] --from <store> --to <dir> [--key K]... [--keep N]
//	stigmer-agent run <name> --from <store> --dir <dir> [--channel latest] [--env-file F] [--env K=V]...
//	                  [--health-url U] [--health-cmd C] [--health-window 10s] [--log-dir D] [--poll 60s] [-- args]
//	stigmer-agent rollback <name> --dir <dir>
//	stigmer-agent status <name> --dir <dir> [--json]
//
// Exit codes (one line on stderr says what and how to fix it):
//
//	0 done; 1 other error; 2 bad usage; 3 verification refused (signature, key, checksum, size, serial, expiry,
//	bad version); 4 not found (service, version, channel, platform); 5 store unavailable after the retries, or
//	credentials refused;
//	6 another agent holds the folder; 7 install failed (disk full, permissions, unsafe archive);
//	8 (status) the service is not running; 9 (rollback) no previous version to go back to.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"aead.dev/minisign"

	"github.com/stigmer/stigmer/agent/fetch"
	"github.com/stigmer/stigmer/agent/supervise"
)

// version is set at link time by stigmer's build-binary ("main.version": "{version}" in
// stigmer-agent.go-binary.json); a plain `go build` leaves "dev".
var version = "dev"

const (
	exitOK = iota
	exitError
	exitUsage
	exitVerify
	exitNotFound
	exitUnavailable
	exitBusy
	exitInstall
	exitNotRunning
	exitNoPrevious
)

type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

type codeError struct {
	code int
	err  error
}

func (e codeError) Error() string { return e.err.Error() }

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprintln(stderr, "stigmer-agent: a command is needed: fetch, run, rollback or status (see docs/agent.md)")
		return exitUsage
	}
	var err error
	switch args[0] {
	case "fetch":
		err = cmdFetch(args[1:], stdout)
	case "run":
		err = cmdRun(args[1:], stdout)
	case "rollback":
		err = cmdRollback(args[1:], stdout)
	case "status":
		err = cmdStatus(args[1:], stdout)
	case "version", "--version":
		fmt.Fprintln(stdout, "stigmer-agent", version, fetch.CurrentPlatform())
	default:
		err = usageError{fmt.Sprintf("unknown command %q: use fetch, run, rollback or status", args[0])}
	}
	if err == nil {
		return exitOK
	}
	fmt.Fprintf(stderr, "stigmer-agent %s: %s\n", args[0], strings.ReplaceAll(err.Error(), "\n", " "))
	return exitCode(err)
}

func exitCode(err error) int {
	var usage usageError
	var coded codeError
	switch {
	case errors.As(err, &usage):
		return exitUsage
	case errors.As(err, &coded):
		return coded.code
	case errors.Is(err, fetch.ErrVerify):
		return exitVerify
	case errors.Is(err, fetch.ErrNotFound):
		return exitNotFound
	case errors.Is(err, fetch.ErrUnavailable), errors.Is(err, fetch.ErrDenied):
		return exitUnavailable
	case errors.Is(err, fetch.ErrBusy):
		return exitBusy
	case errors.Is(err, fetch.ErrInstall):
		return exitInstall
	}
	return exitError
}

type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }

// storeFlags are the flags every command that reads a store takes.
type storeFlags struct {
	from, endpoint, platform string
	keys                     multiFlag
	allowUnsigned, expired   bool
	retries                  int
	lockWait                 time.Duration
}

func (s *storeFlags) register(set *flag.FlagSet) {
	set.StringVar(&s.from, "from", "", "store: s3://bucket/prefix, https://host/prefix or file:///path")
	set.StringVar(&s.endpoint, "s3-endpoint", "", "S3-compatible endpoint (path-style), default AWS_ENDPOINT_URL_S3")
	set.Var(&s.keys, "key", "trusted minisign public key: a .pub file or its base64 line (repeatable; also STIGMER_AGENT_KEYS)")
	set.BoolVar(&s.allowUnsigned, "allow-unsigned", false, "accept an unsigned index and manifests")
	set.BoolVar(&s.expired, "allow-expired", false, "accept an expired index")
	set.StringVar(&s.platform, "platform", "", "platform to fetch, default "+fetch.CurrentPlatform())
	set.IntVar(&s.retries, "retries", 5, "retries after a failed read")
	set.DurationVar(&s.lockWait, "lock-wait", 0, "how long to wait for another agent's lock on the folder")
}

func (s *storeFlags) open() (fetch.Store, fetch.Options, error) {
	var options fetch.Options
	if s.from == "" {
		return nil, options, usageError{"--from <store> is required (s3://bucket/prefix, https://host/prefix or file:///path)"}
	}
	store, err := fetch.OpenStore(s.from, fetch.StoreOptions{S3Endpoint: s.endpoint})
	if err != nil {
		return nil, options, usageError{err.Error()}
	}
	keys := []string(s.keys)
	if env := os.Getenv("STIGMER_AGENT_KEYS"); env != "" {
		keys = append(keys, strings.Fields(env)...)
	}
	for _, key := range keys {
		parsed, err := readKey(key)
		if err != nil {
			return nil, options, usageError{err.Error()}
		}
		options.Keys = append(options.Keys, parsed)
	}
	options.AllowUnsigned, options.AllowExpired, options.Platform = s.allowUnsigned, s.expired, s.platform
	options.Retries, options.LockWait = s.retries, s.lockWait
	return store, options, nil
}

func readKey(value string) (minisign.PublicKey, error) {
	if data, err := os.ReadFile(value); err == nil {
		key, err := fetch.ParsePublicKey(string(data))
		if err != nil {
			return key, fmt.Errorf("--key %s: %v", value, err)
		}
		return key, nil
	}
	key, err := fetch.ParsePublicKey(value)
	if err != nil {
		return key, fmt.Errorf("--key %q is neither a readable file nor a minisign public key", value)
	}
	return key, nil
}

// parse parses flags that may come after the positional name (`fetch web@1.0 --from …`).
func parse(set *flag.FlagSet, args []string) (string, []string, error) {
	set.SetOutput(io.Discard)
	var positional []string
	for {
		if err := set.Parse(args); err != nil {
			return "", nil, usageError{err.Error()}
		}
		args = set.Args()
		if len(args) == 0 {
			break
		}
		if args[0] == "--" {
			positional = append(positional, args[1:]...)
			break
		}
		positional = append(positional, args[0])
		args = args[1:]
	}
	if len(positional) == 0 {
		return "", nil, usageError{"the service name is missing"}
	}
	return positional[0], positional[1:], nil
}

func cmdFetch(args []string, stdout io.Writer) error {
	set := flag.NewFlagSet("fetch", flag.ContinueOnError)
	var sf storeFlags
	sf.register(set)
	to := set.String("to", "", "install folder: the service goes into <to>/<name>/<version>/, <to>/<name>/current")
	keep := set.Int("keep", 0, "keep this many installed versions (0: all)")
	allowBad := set.Bool("allow-bad", false, "fetch a version even if it was marked bad")
	target, rest, err := parse(set, args)
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return usageError{fmt.Sprintf("unexpected argument %q", rest[0])}
	}
	if *to == "" {
		return usageError{"--to <dir> is required"}
	}
	store, options, err := sf.open()
	if err != nil {
		return err
	}
	options.Keep, options.AllowBad = *keep, *allowBad
	name, selector, _ := strings.Cut(target, "@")
	result, err := fetch.Fetch(context.Background(), store, name, selector, *to, options)
	if err != nil {
		return err
	}
	how := "installed"
	if !result.Downloaded {
		how = "already installed"
	}
	fmt.Fprintf(stdout, "%s %s %s (%s, index serial %d): %s\n", how, name, result.Version, result.Platform, result.Serial, result.Executable)
	return nil
}

func cmdRun(args []string, stdout io.Writer) error {
	set := flag.NewFlagSet("run", flag.ContinueOnError)
	var sf storeFlags
	sf.register(set)
	dir := set.String("dir", "", "install folder (as fetch --to)")
	channel := set.String("channel", "latest", "channel to follow")
	envFile := set.String("env-file", "", "KEY=VALUE file for the service's environment")
	var env multiFlag
	set.Var(&env, "env", "KEY=VALUE for the service (repeatable)")
	inherit := set.Bool("inherit-env", false, "also pass this agent's own environment")
	healthURL := set.String("health-url", "", "URL that must answer 2xx within the health window")
	healthCmd := set.String("health-cmd", "", "program that must exit 0 (split on spaces, no shell)")
	window := set.Duration("health-window", 10*time.Second, "how long a new version must stay up")
	logDir := set.String("log-dir", "", "log folder (default <dir>/<name>/logs)")
	poll := set.Duration("poll", time.Minute, "how often to read the channel (0: only on SIGHUP)")
	grace := set.Duration("grace", 10*time.Second, "SIGTERM to SIGKILL")
	keep := set.Int("keep", 3, "installed versions to keep")
	name, childArgs, err := parse(set, args)
	if err != nil {
		return err
	}
	if *dir == "" {
		return usageError{"--dir <dir> is required"}
	}
	store, options, err := sf.open()
	if err != nil {
		return err
	}
	explicit := map[string]string{}
	for _, kv := range env {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return usageError{fmt.Sprintf("--env %q: expected KEY=VALUE", kv)}
		}
		explicit[k] = v
	}
	if *envFile != "" {
		if _, err := supervise.ReadEnvFile(*envFile); err != nil {
			return usageError{err.Error()}
		}
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	// Nothing installed yet: fetch the channel's version first.
	if fetch.Current(*dir, name) == "" {
		options.Keep = *keep
		result, err := fetch.Fetch(ctx, store, name, *channel, *dir, options)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "installed %s %s: %s\n", name, result.Version, result.Executable)
	}
	var command []string
	if *healthCmd != "" {
		command = strings.Fields(*healthCmd)
	}
	supervisor, err := supervise.New(supervise.Config{
		Dir: *dir, Name: name, Args: childArgs, EnvFile: *envFile, Env: explicit, InheritEnv: *inherit,
		LogDir: *logDir, Grace: *grace, Store: store, Channel: *channel, Poll: *poll, FetchOptions: options, Keep: *keep,
		Health: supervise.Health{Window: *window, URL: *healthURL, Command: command},
	})
	if err != nil {
		return err
	}
	// SIGHUP: read the channel now, and follow `current` after `stigmer-agent rollback`.
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	go func() {
		for range hup {
			supervisor.Check()
		}
	}()
	return supervisor.Run(ctx)
}

func cmdRollback(args []string, stdout io.Writer) error {
	set := flag.NewFlagSet("rollback", flag.ContinueOnError)
	dir := set.String("dir", "", "install folder")
	to := set.String("to", "", "version to go back to (default: the previous good one)")
	name, _, err := parse(set, args)
	if err != nil {
		return err
	}
	if *dir == "" {
		return usageError{"--dir <dir> is required"}
	}
	current := fetch.Current(*dir, name)
	target := *to
	if target == "" {
		if target, err = fetch.Previous(*dir, name); err != nil {
			return codeError{exitNoPrevious, err}
		}
	}
	if current != "" && current != target {
		if err := fetch.MarkBad(*dir, name, current, "rolled back by hand", 5*time.Second); err != nil {
			return err
		}
	}
	if err := fetch.Activate(*dir, name, target, 5*time.Second); err != nil {
		return err
	}
	// A running agent follows `current` on SIGHUP.
	if status, err := readStatus(*dir, name); err == nil && status.AgentPID > 0 && alive(status.AgentPID) {
		poke(status.AgentPID)
	}
	fmt.Fprintf(stdout, "rolled back %s from %s to %s\n", name, orNone(current), target)
	return nil
}

func orNone(v string) string {
	if v == "" {
		return "none"
	}
	return v
}

func readStatus(dir, name string) (supervise.Status, error) {
	var status supervise.Status
	data, err := os.ReadFile(dir + "/" + name + "/status.json")
	if err == nil {
		err = json.Unmarshal(data, &status)
	}
	return status, err
}

func cmdStatus(args []string, stdout io.Writer) error {
	set := flag.NewFlagSet("status", flag.ContinueOnError)
	dir := set.String("dir", "", "install folder")
	asJSON := set.Bool("json", false, "print the status as JSON")
	name, _, err := parse(set, args)
	if err != nil {
		return err
	}
	if *dir == "" {
		return usageError{"--dir <dir> is required"}
	}
	status, err := readStatus(*dir, name)
	if err != nil {
		return codeError{exitNotRunning, fmt.Errorf("%s: no status in %s (is `stigmer-agent run` running?)", name, *dir)}
	}
	// The file is as the agent last wrote it: a dead agent or child means not running.
	running := status.State == "running" && status.PID > 0 && alive(status.PID) && alive(status.AgentPID)
	if !running && status.State == "running" {
		status.State, status.PID = "stopped", 0
	}
	if status.PID > 0 {
		status.Uptime = time.Since(status.Started).Seconds()
	}
	if *asJSON {
		data, _ := json.MarshalIndent(status, "", "  ")
		fmt.Fprintln(stdout, string(data))
	} else {
		fmt.Fprintf(stdout, "%s %s %s pid %d uptime %.0fs restarts %d\n", name, orNone(status.Version), status.State, status.PID, status.Uptime, status.Restarts)
	}
	if !running {
		return codeError{exitNotRunning, fmt.Errorf("%s is %s: %s", name, status.State, orNone(status.Message))}
	}
	return nil
}
