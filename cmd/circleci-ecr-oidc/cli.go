package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"syscall"

	"golang.org/x/term"

	"github.com/circleci-ecr-oidc/circleci-ecr-oidc/provision"
)

// Exit statuses, part of the command-line contract.
const (
	exitOK      = 0
	exitError   = 1
	exitUsage   = 2
	exitAborted = 130
)

// IOStreams are the standard streams and what is known about them.
type IOStreams struct {
	In     io.Reader
	Out    io.Writer
	ErrOut io.Writer
	// StdinTTY and StdoutTTY say whether the streams are terminals.
	StdinTTY, StdoutTTY bool
}

// CanPrompt reports whether the tool may ask questions: only when both
// stdin and stdout are terminals, never in CI or a pipe.
func (s IOStreams) CanPrompt() bool { return s.StdinTTY && s.StdoutTTY }

// systemStreams returns the process's streams.
func systemStreams() IOStreams {
	return IOStreams{
		In: os.Stdin, Out: os.Stdout, ErrOut: os.Stderr,
		StdinTTY:  term.IsTerminal(int(os.Stdin.Fd())),
		StdoutTTY: term.IsTerminal(int(os.Stdout.Fd())),
	}
}

// Main runs the command line and returns the process's exit status.
func Main() int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	// The first signal stops the run gracefully: Apply waits for the AWS
	// calls in flight and reports. Restoring the default handling then lets
	// a second signal end the process at once.
	context.AfterFunc(ctx, stop)
	return run(ctx, os.Args[1:], systemStreams())
}

// run executes one command line and prints its error, if any, exactly once.
func run(ctx context.Context, args []string, io IOStreams) int {
	// Progress lines, the SDK's --debug log and messages reach stderr from
	// several goroutines; one lock keeps each write whole and unraced.
	errOut := &lockedWriter{w: io.ErrOut}
	defer errOut.close()
	io.ErrOut = errOut
	root := newRootCmd(io)
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return exitOK
	}
	code := exitCode(ctx, err)
	var silent *silentError
	if code == exitUsage && !errors.As(err, &silent) && detailedExitcode(args) {
		// Under plan --detailed-exitcode, 2 means "changes pending", as in
		// Terraform, so invalid input is an error like any other.
		code = exitError
	}
	if !errors.As(err, &silent) {
		fmt.Fprintf(io.ErrOut, "Error: %s\n", errorText(err))
		if hint := hintFor(err); hint != "" {
			fmt.Fprintf(io.ErrOut, "Hint: %s\n", hint)
		}
	}
	return code
}

// detailedExitcode reports whether the command line sets
// --detailed-exitcode, read from the arguments themselves: a flag error can
// stop parsing before the flag is reached.
func detailedExitcode(args []string) bool {
	on := false
	for _, a := range args {
		if a == "--" {
			break
		}
		name, value, hasValue := strings.Cut(a, "=")
		if name != "--detailed-exitcode" {
			continue
		}
		on = true
		if hasValue {
			on, _ = strconv.ParseBool(value)
		}
	}
	return on
}

// lockedWriter serializes the writes to w, and drops those that come after
// close.
type lockedWriter struct {
	mu     sync.Mutex
	w      io.Writer
	closed bool
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return len(p), nil
	}
	return l.w.Write(p)
}

// close ends the command's output. The SDK shares one credential retrieval
// among its callers and lets it run on when they give up, so its --debug
// log can go on after the command has returned and printed its error: such
// lines belong to no command and would follow the error.
func (l *lockedWriter) close() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.closed = true
}

// usageError marks bad flags or arguments (exit 2).
type usageError struct{ err error }

func (e *usageError) Error() string { return e.err.Error() }
func (e *usageError) Unwrap() error { return e.err }

// silentError carries an exit status for an outcome already reported, such
// as pending changes under plan --detailed-exitcode.
type silentError struct{ code int }

func (e *silentError) Error() string { return fmt.Sprintf("exit status %d", e.code) }

// errAborted is returned when the user interrupts or declines to go on.
var errAborted = errors.New("aborted")

func exitCode(ctx context.Context, err error) int {
	var (
		usage  *usageError
		input  *provision.InputError
		silent *silentError
	)
	switch {
	case errors.As(err, &silent):
		return silent.code
	case errors.As(err, &usage), errors.As(err, &input):
		return exitUsage
	case errors.Is(err, errAborted), ctx.Err() != nil && errors.Is(err, context.Canceled):
		return exitAborted
	default:
		return exitError
	}
}

func hintFor(err error) string {
	// The outermost hint, which is the one added last.
	var h *provision.HintError
	if errors.As(err, &h) {
		return h.Hint
	}
	return ""
}
