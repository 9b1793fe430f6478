//go:build unix

package fetch

import (
	"errors"
	"os"
	"syscall"
)

// tryLock takes an exclusive flock without waiting; held says another holder has it.
func tryLock(file *os.File) (held bool, err error) {
	err = syscall.Flock(int(file.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
	return errors.Is(err, syscall.EWOULDBLOCK), err
}

func unlock(file *os.File) { _ = syscall.Flock(int(file.Fd()), syscall.LOCK_UN) }
