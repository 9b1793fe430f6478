// Package supervise runs an installed service (fetch's <dir>/<name>/current) as a child process and keeps it
// running: environment from an env file, restarts with capped backoff and a crash-loop limit, timestamped and
// size-rotated logs, a status file, and upgrades along a channel with a health check and an automatic rollback.
package supervise

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"sync"
	"syscall"
	"time"

	"github.com/stigmer/stigmer/agent/fetch"
)

// Health is what a new version must pass before it replaces the previous one.
type Health struct {
	// Window is how long the process must stay up (default 10s).
	Window time.Duration
	// URL, when set, must answer 2xx within the window.
	URL string
	// Command, when set, must exit 0 once the process is up (run with the child's environment, no shell).
	Command []string
	// Timeout of one URL request or of the command (default 5s).
	Timeout time.Duration
}

// Config of a Supervisor. Dir and Name are required.
type Config struct {
	Dir, Name string
	// Args are passed to the program.
	Args []string
	// EnvFile (KEY=VALUE lines) and Env make the child's environment; nothing of this process's environment
	// is passed unless InheritEnv.
	EnvFile    string
	Env        map[string]string
	InheritEnv bool
	// LogDir holds <name>.log, rotated at LogMaxBytes (default 10 MiB) into .1 … .LogKeep (default 5).
	LogDir      string
	LogMaxBytes int64
	LogKeep     int
	// Restarts: backoff from MinBackoff (default 500ms) doubling up to MaxBackoff (default 30s). A run shorter than
	// StableAfter (default 10s) counts as a crash; after CrashLoopLimit (default 5) crashes in a row the supervisor
	// stops restarting until a new version arrives.
	MinBackoff, MaxBackoff time.Duration
	StableAfter            time.Duration
	CrashLoopLimit         int
	// Grace between SIGTERM and SIGKILL of the child's process group (default 10s).
	Grace time.Duration
	// StatusFile (default <Dir>/<Name>/status.json) and OnStatus receive every status change.
	StatusFile string
	OnStatus   func(Status)
	// Upgrades: Store and Channel to follow, polled every Poll (0: only on Check), fetched with FetchOptions.
	Store        fetch.Store
	Channel      string
	Poll         time.Duration
	FetchOptions fetch.Options
	Health       Health
	// Keep installed versions after a healthy upgrade (default 3; the previous one is always kept).
	Keep int
}

// Exit describes how the child last ended.
type Exit struct {
	Version string    `json:"version"`
	Code    int       `json:"code"`
	Signal  string    `json:"signal,omitempty"`
	Error   string    `json:"error,omitempty"` // it could not be started
	At      time.Time `json:"at"`
	Ran     float64   `json:"ranSeconds"`
}

// Upgrade reports the last upgrade attempt.
type Upgrade struct {
	From       string    `json:"from"`
	To         string    `json:"to"`
	OK         bool      `json:"ok"`
	RolledBack bool      `json:"rolledBack"`
	Reason     string    `json:"reason,omitempty"`
	At         time.Time `json:"at"`
	// Seconds from the decision to upgrade to the new version healthy, or to the previous one running again.
	Seconds float64 `json:"seconds"`
	// FailedAt: when the new version failed its check; RestoredAt: when the previous one was started again.
	FailedAt   *time.Time `json:"failedAt,omitempty"`
	RestoredAt *time.Time `json:"restoredAt,omitempty"`
}

// Status is the supervisor's state, written as JSON to the status file.
type Status struct {
	Name     string            `json:"name"`
	Version  string            `json:"version"`
	State    string            `json:"state"` // starting, running, backoff, crash-loop, stopped
	PID      int               `json:"pid"`
	AgentPID int               `json:"agentPid"`
	Started  time.Time         `json:"started"`
	Uptime   float64           `json:"uptimeSeconds"`
	Restarts int               `json:"restarts"`
	LastExit *Exit             `json:"lastExit,omitempty"`
	Upgrade  *Upgrade          `json:"upgrade,omitempty"`
	Bad      map[string]string `json:"bad,omitempty"`
	Message  string            `json:"message,omitempty"`
	Updated  time.Time         `json:"updated"`
}

// Supervisor runs one service. Create it with New, then call Run.
type Supervisor struct {
	cfg     Config
	log     *rotatingLog
	wake    chan struct{}
	mu      sync.Mutex
	status  Status
	child   *child
	crashes int
}

type child struct {
	cmd     *exec.Cmd
	version string
	started time.Time
	done    chan struct{}
	exit    Exit
	stopped bool
}

// New checks the configuration and opens the log.
func New(cfg Config) (*Supervisor, error) {
	if cfg.Dir == "" || cfg.Name == "" {
		return nil, errors.New("supervise: Dir and Name are required")
	}
	defaults(&cfg)
	log, err := openLog(cfg.LogDir, cfg.Name, cfg.LogMaxBytes, cfg.LogKeep)
	if err != nil {
		return nil, err
	}
	return &Supervisor{cfg: cfg, log: log, wake: make(chan struct{}, 1), status: Status{Name: cfg.Name, AgentPID: os.Getpid()}}, nil
}

func defaults(cfg *Config) {
	def := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	def(&cfg.MinBackoff, 500*time.Millisecond)
	def(&cfg.MaxBackoff, 30*time.Second)
	def(&cfg.StableAfter, 10*time.Second)
	def(&cfg.Grace, 10*time.Second)
	def(&cfg.Health.Window, 10*time.Second)
	def(&cfg.Health.Timeout, 5*time.Second)
	if cfg.CrashLoopLimit == 0 {
		cfg.CrashLoopLimit = 5
	}
	if cfg.LogDir == "" {
		cfg.LogDir = filepath.Join(cfg.Dir, cfg.Name, "logs")
	}
	if cfg.LogMaxBytes == 0 {
		cfg.LogMaxBytes = 10 << 20
	}
	if cfg.LogKeep == 0 {
		cfg.LogKeep = 5
	}
	if cfg.StatusFile == "" {
		cfg.StatusFile = filepath.Join(cfg.Dir, cfg.Name, "status.json")
	}
	if cfg.Keep == 0 {
		cfg.Keep = 3
	}
	if cfg.Channel == "" {
		cfg.Channel = "latest"
	}
	if cfg.FetchOptions.LockWait == 0 {
		cfg.FetchOptions.LockWait = 30 * time.Second
	}
}

// Check asks the running supervisor to look for a new version now (and to follow a moved `current` pointer,
// as after `stigmer-agent rollback`).
func (s *Supervisor) Check() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// Status returns a copy of the current status.
func (s *Supervisor) Status() Status {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.snapshot()
}

func (s *Supervisor) snapshot() Status {
	status := s.status
	status.Bad = maps.Clone(s.status.Bad)
	if status.PID != 0 {
		status.Uptime = time.Since(status.Started).Seconds()
	}
	return status
}

func (s *Supervisor) update(change func(*Status)) {
	s.mu.Lock()
	change(&s.status)
	s.status.Updated = time.Now().UTC()
	status := s.snapshot()
	s.mu.Unlock()
	if data, err := json.MarshalIndent(status, "", "  "); err == nil {
		writeAtomic(s.cfg.StatusFile, append(data, '\n'))
	}
	if s.cfg.OnStatus != nil {
		s.cfg.OnStatus(status)
	}
}

// Run supervises until ctx ends, then stops the child (SIGTERM, SIGKILL after Grace) and returns nil. It holds
// <dir>/<name>/.run.lock: a second supervisor of the same folder gets fetch.ErrBusy.
func (s *Supervisor) Run(ctx context.Context) error {
	defer s.log.Close()
	lock, err := fetch.LockSupervisor(s.cfg.Dir, s.cfg.Name)
	if err != nil {
		return err
	}
	defer lock.Unlock()
	state, _ := fetch.ReadState(s.cfg.Dir, s.cfg.Name)
	s.update(func(st *Status) { st.Bad = state.Bad })
	version := fetch.Current(s.cfg.Dir, s.cfg.Name)
	if version == "" {
		return fmt.Errorf("%s: nothing is installed in %s: fetch a version first", s.cfg.Name, s.cfg.Dir)
	}
	if err := s.start(version); err != nil {
		return err
	}
	var poll <-chan time.Time
	if s.cfg.Poll > 0 && s.cfg.Store != nil {
		ticker := time.NewTicker(s.cfg.Poll)
		defer ticker.Stop()
		poll = ticker.C
	}
	var restart <-chan time.Time
	for {
		var exited chan struct{}
		if s.child != nil && !s.child.stopped {
			exited = s.child.done
		}
		select {
		case <-ctx.Done():
			s.stop()
			s.update(func(st *Status) { st.State, st.PID, st.Message = "stopped", 0, "agent stopped" })
			return nil
		case <-exited:
			restart = s.exited()
		case <-restart:
			restart = nil
			if !s.child.stopped {
				break // an upgrade or a rollback started another child meanwhile
			}
			if err := s.start(s.child.version); err != nil {
				s.update(func(st *Status) { st.Message = err.Error() })
			}
		case <-poll:
			s.checkForUpgrade(ctx)
		case <-s.wake:
			s.followCurrent()
			s.checkForUpgrade(ctx)
		}
	}
}

// exited records an unexpected exit and schedules the restart (nil in a crash loop).
func (s *Supervisor) exited() <-chan time.Time {
	c := s.child
	c.stopped = true
	exit := c.exit
	if exit.Ran < s.cfg.StableAfter.Seconds() {
		s.crashes++
	} else {
		s.crashes = 0
	}
	if s.crashes > s.cfg.CrashLoopLimit {
		s.update(func(st *Status) {
			st.State, st.PID, st.LastExit = "crash-loop", 0, &exit
			st.Message = fmt.Sprintf("%s %s exited %d times in a row within %s: not restarted until a new version or a rollback", s.cfg.Name, c.version, s.crashes, s.cfg.StableAfter)
		})
		return nil
	}
	delay := s.cfg.MinBackoff
	for i := 1; i < s.crashes && delay < s.cfg.MaxBackoff; i++ {
		delay *= 2
	}
	delay = min(delay, s.cfg.MaxBackoff)
	s.update(func(st *Status) {
		st.State, st.PID, st.LastExit = "backoff", 0, &exit
		st.Restarts++
		st.Message = fmt.Sprintf("exited (%s); restarting in %s", describe(exit), delay)
	})
	return time.After(delay)
}

func describe(exit Exit) string {
	if exit.Error != "" {
		return "could not start: " + exit.Error
	}
	if exit.Signal != "" {
		return "signal " + exit.Signal
	}
	return fmt.Sprintf("code %d", exit.Code)
}

// start runs an installed version as the child, in its own process group.
func (s *Supervisor) start(version string) error {
	record, err := fetch.ReadRecord(s.cfg.Dir, s.cfg.Name, version)
	if err != nil {
		return err
	}
	env, err := s.environment()
	if err != nil {
		return err
	}
	cmd := exec.Command(record.Executable(s.cfg.Dir), s.cfg.Args...)
	cmd.Dir = filepath.Join(s.cfg.Dir, s.cfg.Name, version)
	cmd.Env = env
	stdout, stderr := &lineWriter{log: s.log, stream: "stdout"}, &lineWriter{log: s.log, stream: "stderr"}
	cmd.Stdout, cmd.Stderr = stdout, stderr
	ownGroup(cmd)
	// A grandchild that keeps the output pipes open must not keep Wait from returning.
	cmd.WaitDelay = time.Second
	c := &child{cmd: cmd, version: version, done: make(chan struct{})}
	if err := cmd.Start(); err != nil {
		// Counted like a crash at once: Run's loop restarts it with backoff, up to the crash-loop limit.
		c.started = time.Now()
		c.exit = Exit{Version: version, Code: -1, Error: err.Error(), At: c.started.UTC()}
		close(c.done)
		s.child = c
		s.update(func(st *Status) {
			st.Version, st.State, st.PID = version, "backoff", 0
			st.Message = fmt.Sprintf("cannot start %s: %v", record.Executable(s.cfg.Dir), err)
		})
		return fmt.Errorf("cannot start %s %s: %v", s.cfg.Name, version, err)
	}
	c.started = time.Now()
	s.log.line("agent", fmt.Appendf(nil, "started %s %s (pid %d)", s.cfg.Name, version, cmd.Process.Pid))
	go func() {
		_ = cmd.Wait()
		stdout.Flush()
		stderr.Flush()
		c.exit = Exit{Version: version, Code: cmd.ProcessState.ExitCode(), At: time.Now().UTC(), Ran: time.Since(c.started).Seconds()}
		if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			c.exit.Signal = ws.Signal().String()
		}
		s.log.line("agent", fmt.Appendf(nil, "%s %s (pid %d) exited: %s", s.cfg.Name, version, cmd.Process.Pid, describe(c.exit)))
		close(c.done)
	}()
	s.child = c
	s.update(func(st *Status) {
		st.Version, st.State, st.PID, st.Started, st.Message = version, "running", cmd.Process.Pid, c.started.UTC(), ""
	})
	return nil
}

func (s *Supervisor) environment() ([]string, error) {
	env := map[string]string{}
	if s.cfg.InheritEnv {
		for _, kv := range os.Environ() {
			if k, v, ok := cutEnv(kv); ok {
				env[k] = v
			}
		}
	}
	if s.cfg.EnvFile != "" {
		fromFile, err := ReadEnvFile(s.cfg.EnvFile)
		if err != nil {
			return nil, err
		}
		maps.Copy(env, fromFile)
	}
	maps.Copy(env, s.cfg.Env)
	list := make([]string, 0, len(env))
	for k, v := range env {
		list = append(list, k+"="+v)
	}
	sort.Strings(list)
	return list, nil
}

func cutEnv(kv string) (string, string, bool) {
	for i := 1; i < len(kv); i++ {
		if kv[i] == '=' {
			return kv[:i], kv[i+1:], true
		}
	}
	return "", "", false
}

// stop ends the child: SIGTERM to its process group, SIGKILL to the group after Grace.
func (s *Supervisor) stop() {
	c := s.child
	if c == nil || c.cmd.Process == nil {
		return
	}
	c.stopped = true
	pgid := c.cmd.Process.Pid
	select {
	case <-c.done:
	default:
		signalGroup(pgid, true)
		select {
		case <-c.done:
		case <-time.After(s.cfg.Grace):
		}
	}
	// Whatever of the group is left (the leader after the grace, or a grandchild) goes now.
	signalGroup(pgid, false)
	<-c.done
}

// followCurrent switches to the version `current` names if it is not the one running (after a rollback by hand).
func (s *Supervisor) followCurrent() {
	version := fetch.Current(s.cfg.Dir, s.cfg.Name)
	if version == "" || s.child != nil && version == s.child.version {
		return
	}
	s.stop()
	s.crashes = 0
	if err := s.start(version); err != nil {
		s.update(func(st *Status) { st.Message = err.Error() })
	}
}

// checkForUpgrade reads the channel and upgrades when it names a version other than the running one.
func (s *Supervisor) checkForUpgrade(ctx context.Context) {
	if s.cfg.Store == nil {
		return
	}
	index, err := fetch.ReadIndex(ctx, s.cfg.Store, s.cfg.Name, s.cfg.Dir, s.cfg.FetchOptions)
	if err != nil {
		s.update(func(st *Status) { st.Message = "checking for a new version: " + err.Error() })
		return
	}
	target := index.Channels[s.cfg.Channel]
	if target == "" || s.child != nil && target == s.child.version {
		return
	}
	state, _ := fetch.ReadState(s.cfg.Dir, s.cfg.Name)
	if state.Bad[target] != "" {
		return
	}
	s.Upgrade(ctx, target)
}

// Upgrade moves the service to version: fetch and verify, stop the old one, start the new one, health check;
// on failure it goes back to the previous version, marks the new one bad and reports why. The previous
// version's files stay until the new one is healthy. Call it from the goroutine that runs Run, or before Run.
func (s *Supervisor) Upgrade(ctx context.Context, version string) *Upgrade {
	began := time.Now()
	from := ""
	if s.child != nil {
		from = s.child.version
	}
	report := &Upgrade{From: from, To: version, At: began.UTC()}
	finish := func() *Upgrade {
		report.Seconds = time.Since(began).Seconds()
		s.log.line("agent", fmt.Appendf(nil, "upgrade %s -> %s: ok=%v %s", from, version, report.OK, report.Reason))
		s.update(func(st *Status) { st.Upgrade = report })
		return report
	}
	options := s.cfg.FetchOptions
	options.NoActivate = true
	if _, err := fetch.Fetch(ctx, s.cfg.Store, s.cfg.Name, version, s.cfg.Dir, options); err != nil {
		report.Reason = "fetch: " + err.Error()
		return finish()
	}
	s.stop()
	s.crashes = 0
	reason := ""
	if err := s.start(version); err != nil {
		reason = err.Error()
	} else {
		reason = s.healthCheck(ctx, s.child)
	}
	if reason == "" {
		if err := fetch.Activate(s.cfg.Dir, s.cfg.Name, version, s.cfg.FetchOptions.LockWait); err != nil {
			reason = err.Error()
		} else {
			report.OK = true
			_ = fetch.Prune(s.cfg.Dir, s.cfg.Name, s.cfg.Keep, from)
			return finish()
		}
	}
	// Back to the previous version, which `current` still names.
	failed := time.Now().UTC()
	report.Reason, report.FailedAt = reason, &failed
	s.stop()
	_ = fetch.MarkBad(s.cfg.Dir, s.cfg.Name, version, reason, s.cfg.FetchOptions.LockWait)
	state, _ := fetch.ReadState(s.cfg.Dir, s.cfg.Name)
	if from != "" {
		if err := s.start(from); err != nil {
			report.Reason += "; and the previous version did not start again: " + err.Error()
		} else {
			restored := time.Now().UTC()
			report.RolledBack, report.RestoredAt = true, &restored
		}
	}
	s.update(func(st *Status) {
		st.Bad = state.Bad
		st.Message = fmt.Sprintf("%s %s failed its health check (%s); back on %s", s.cfg.Name, version, reason, from)
	})
	return finish()
}

// healthCheck waits out the window: the process must stay up, the URL answer 2xx, the command exit 0.
// It returns "" when healthy, else why not.
func (s *Supervisor) healthCheck(ctx context.Context, c *child) string {
	health := s.cfg.Health
	deadline := c.started.Add(health.Window)
	client := &http.Client{Timeout: health.Timeout}
	urlOK, lastURL := health.URL == "", "no answer"
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-c.done:
			return fmt.Sprintf("exited during the health window (%s after %.1fs)", describe(c.exit), c.exit.Ran)
		case <-ctx.Done():
			return "agent stopped during the health check"
		case <-tick.C:
		}
		if !urlOK {
			if response, err := client.Get(health.URL); err != nil {
				lastURL = err.Error()
			} else {
				response.Body.Close()
				lastURL = response.Status
				urlOK = response.StatusCode >= 200 && response.StatusCode < 300
			}
		}
		if time.Now().After(deadline) {
			break
		}
	}
	if !urlOK {
		return fmt.Sprintf("%s did not answer 2xx within %s (last: %s)", health.URL, health.Window, lastURL)
	}
	if len(health.Command) > 0 {
		env, _ := s.environment()
		cmdCtx, cancel := context.WithTimeout(ctx, health.Timeout)
		defer cancel()
		cmd := exec.CommandContext(cmdCtx, health.Command[0], health.Command[1:]...)
		cmd.Env = env
		if output, err := cmd.CombinedOutput(); err != nil {
			return fmt.Sprintf("health command %s failed: %v %s", health.Command[0], err, trimOutput(output))
		}
	}
	select {
	case <-c.done:
		return fmt.Sprintf("exited during the health check (%s)", describe(c.exit))
	default:
	}
	return ""
}

func trimOutput(output []byte) string {
	if len(output) > 200 {
		output = output[len(output)-200:]
	}
	return string(output)
}

func writeAtomic(path string, data []byte) {
	tmp := fmt.Sprintf("%s.tmp-%d", path, os.Getpid())
	if os.WriteFile(tmp, data, 0o644) == nil {
		_ = os.Rename(tmp, path)
	}
}
