//go:build unix

package supervise

import (
	"os/exec"
	"syscall"
)

// ownGroup starts the child in a process group of its own, so that a stop reaches whatever it started.
func ownGroup(cmd *exec.Cmd) { cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} }

// signalGroup sends SIGTERM (term) or SIGKILL to the child's whole process group.
func signalGroup(pid int, term bool) {
	if term {
		_ = syscall.Kill(-pid, syscall.SIGTERM)
	} else {
		_ = syscall.Kill(-pid, syscall.SIGKILL)
	}
}
