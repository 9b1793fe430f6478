package supervise

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// rotatingLog appends timestamped lines to <dir>/<name>.log and rotates it to .1 … .keep when it passes maxBytes.
type rotatingLog struct {
	mu       sync.Mutex
	path     string
	maxBytes int64
	keep     int
	file     *os.File
	size     int64
}

func openLog(dir, name string, maxBytes int64, keep int) (*rotatingLog, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("log folder: %v", err)
	}
	log := &rotatingLog{path: filepath.Join(dir, name+".log"), maxBytes: maxBytes, keep: keep}
	return log, log.open()
}

func (l *rotatingLog) open() error {
	file, err := os.OpenFile(l.path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("log file: %v", err)
	}
	info, _ := file.Stat()
	l.file, l.size = file, info.Size()
	return nil
}

func (l *rotatingLog) rotate() {
	l.file.Close()
	for i := l.keep - 1; i >= 1; i-- {
		_ = os.Rename(fmt.Sprintf("%s.%d", l.path, i), fmt.Sprintf("%s.%d", l.path, i+1))
	}
	if l.keep > 0 {
		_ = os.Rename(l.path, l.path+".1")
	} else {
		_ = os.Remove(l.path)
	}
	if err := l.open(); err != nil {
		l.file = nil
	}
}

func (l *rotatingLog) line(stream string, text []byte) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.file == nil {
		return
	}
	entry := fmt.Appendf(nil, "%s %s %s\n", time.Now().UTC().Format("2006-01-02T15:04:05.000Z07:00"), stream, text)
	if l.maxBytes > 0 && l.size > 0 && l.size+int64(len(entry)) > l.maxBytes {
		l.rotate()
		if l.file == nil {
			return
		}
	}
	n, _ := l.file.Write(entry)
	l.size += int64(n)
}

func (l *rotatingLog) Close() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.file != nil {
		l.file.Close()
		l.file = nil
	}
}

// lineWriter splits a child's stream into lines for the log (a partial last line is written on Flush).
type lineWriter struct {
	log     *rotatingLog
	stream  string
	pending []byte
}

func (w *lineWriter) Write(p []byte) (int, error) {
	w.pending = append(w.pending, p...)
	for {
		i := bytes.IndexByte(w.pending, '\n')
		if i < 0 {
			break
		}
		w.log.line(w.stream, bytes.TrimRight(w.pending[:i], "\r"))
		w.pending = w.pending[i+1:]
	}
	if len(w.pending) > 64<<10 {
		w.Flush()
	}
	return len(p), nil
}

func (w *lineWriter) Flush() {
	if len(w.pending) > 0 {
		w.log.line(w.stream, w.pending)
		w.pending = nil
	}
}
