//go:build windows

package supervise

import (
	"os"
	"os/exec"
	"syscall"
)

// ownGroup starts the child in a new process group (Windows has no SIGTERM: a stop kills the child).
func ownGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{CreationFlags: syscall.CREATE_NEW_PROCESS_GROUP}
}

func signalGroup(pid int, term bool) {
	if process, err := os.FindProcess(pid); err == nil {
		_ = process.Kill()
	}
}
