package fetch

import (
	"errors"
	"fmt"
)

// Kinds of failure, for errors.Is: a daemon or a script acts differently on each.
var (
	// ErrVerify: a signature, checksum, size, serial or expiry check failed. Nothing was installed.
	ErrVerify = errors.New("verification failed")
	// ErrNotFound: no such service, version, channel or platform in the store.
	ErrNotFound = errors.New("not found")
	// ErrUnavailable: the store could not be read (after the retries).
	ErrUnavailable = errors.New("store unavailable")
	// ErrDenied: the store refused the credentials or the access (not retried).
	ErrDenied = errors.New("access denied")
	// ErrBusy: another agent holds the folder's lock.
	ErrBusy = errors.New("busy")
	// ErrInstall: writing into the install folder failed (full disk, permissions, unsafe archive).
	ErrInstall = errors.New("install failed")
)

type kindError struct {
	kind error
	msg  string
}

func (e *kindError) Error() string        { return e.msg }
func (e *kindError) Is(target error) bool { return target == e.kind }

func verifyErr(format string, args ...any) error {
	return &kindError{ErrVerify, fmt.Sprintf(format, args...)}
}
func notFoundErr(format string, args ...any) error {
	return &kindError{ErrNotFound, fmt.Sprintf(format, args...)}
}
func unavailableErr(format string, args ...any) error {
	return &kindError{ErrUnavailable, fmt.Sprintf(format, args...)}
}
func deniedErr(format string, args ...any) error {
	return &kindError{ErrDenied, fmt.Sprintf(format, args...)}
}
func busyErr(format string, args ...any) error {
	return &kindError{ErrBusy, fmt.Sprintf(format, args...)}
}
func installErr(format string, args ...any) error {
	return &kindError{ErrInstall, fmt.Sprintf(format, args...)}
}
