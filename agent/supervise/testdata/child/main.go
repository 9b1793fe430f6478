// A service for the supervise tests and the bench: it says its version (the folder it is installed in) and
// what it sees of its environment, answers /health on CHILD_ADDR, spams CHILD_SPAM lines, and with
// CHILD_STUBBORN ignores SIGTERM and leaves a grandchild behind (to prove the group is killed).
package main

import (
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "grandchild" {
		signal.Ignore(syscall.SIGTERM)
		time.Sleep(time.Hour)
		return
	}
	exe, _ := os.Executable()
	version := filepath.Base(filepath.Dir(exe))
	fmt.Printf("child %s pid %d GREETING=%s LEAK=%s PATH=%s args=%s\n", version, os.Getpid(), os.Getenv("GREETING"), os.Getenv("LEAK"), os.Getenv("PATH"), strings.Join(os.Args[1:], ","))
	fmt.Fprintln(os.Stderr, "child stderr line")
	if n, _ := strconv.Atoi(os.Getenv("CHILD_SPAM")); n > 0 {
		for i := 0; i < n; i++ {
			fmt.Printf("spam line %d of %d\n", i, n)
		}
	}
	terms := make(chan os.Signal, 1)
	signal.Notify(terms, syscall.SIGTERM)
	if os.Getenv("CHILD_STUBBORN") != "" {
		grandchild := exec.Command(exe, "grandchild")
		grandchild.Start()
		os.WriteFile(os.Getenv("CHILD_STUBBORN"), []byte(strconv.Itoa(grandchild.Process.Pid)), 0o644)
		signal.Ignore(syscall.SIGTERM)
	}
	if addr := os.Getenv("CHILD_ADDR"); addr != "" {
		http.HandleFunc("/health", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, version) })
		go func() {
			// The previous version may still hold the port for a moment.
			for {
				err := http.ListenAndServe(addr, nil)
				fmt.Fprintln(os.Stderr, "listen:", err)
				time.Sleep(50 * time.Millisecond)
			}
		}()
	}
	<-terms
	fmt.Println("child got SIGTERM")
}
