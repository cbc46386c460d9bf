package wizard

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/huh"
)

// ErrAborted is returned when the person quits a form (Esc or Ctrl-C, or
// end of input in accessible mode). Nothing has been written at that point;
// the command maps it to exit status 130.
var ErrAborted = errors.New("aborted")

// form builds a form with the wizard's theme, keys and streams.
func (w *Wizard) form(groups ...*huh.Group) *huh.Form {
	return huh.NewForm(groups...).
		WithTheme(w.theme).
		WithKeyMap(w.keys).
		WithShowHelp(true).
		WithAccessible(w.accessible).
		WithInput(w.lines).
		WithOutput(w.out)
}

// run runs one form and reports a quit as ErrAborted.
func (w *Wizard) run(ctx context.Context, groups ...*huh.Group) error {
	f := w.form(groups...)
	if w.accessible {
		// huh's accessible prompts read line by line and treat end of input
		// as "take the default", which would let a closed stdin answer every
		// question. A closed stdin means the person left: abort instead.
		//
		// The prompts block in a read that ignores ctx, so on an interrupt
		// (Ctrl-C is a signal, not a key, in line mode) return at once and
		// leave the read behind: the process is about to exit.
		done := make(chan error, 1)
		go func() { done <- f.RunWithContext(ctx) }()
		select {
		case err := <-done:
			if err != nil {
				return fmt.Errorf("run form: %w", err)
			}
		case <-ctx.Done():
			return ErrAborted
		}
		if w.lines.closed() {
			return ErrAborted
		}
		return ctx.Err()
	}

	// Run the program ourselves rather than through huh's Run so that Esc
	// can abort (huh only binds Ctrl-C) without stealing Esc from a field
	// that uses it, such as the repository filter. The input is passed
	// unwrapped: Bubble Tea needs the *os.File to switch the terminal to raw
	// mode and to cancel its read when the form ends, so that the next form
	// gets the next keystroke.
	//
	// Quitting (not huh's tea.Interrupt) on abort lets Bubble Tea draw the
	// form's last, empty frame, which erases it; the form's state says
	// whether it was aborted.
	f.SubmitCmd = tea.Quit
	f.CancelCmd = tea.Quit
	p := tea.NewProgram(escQuits{f}, tea.WithInput(w.in), tea.WithOutput(w.out), tea.WithContext(ctx))
	_, err := p.Run()
	switch {
	case f.State == huh.StateAborted, errors.Is(err, tea.ErrInterrupted):
		return ErrAborted
	case errors.Is(err, tea.ErrProgramKilled):
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return ErrAborted
	case err != nil:
		return fmt.Errorf("run form: %w", err)
	}
	return nil
}

// escQuits wraps a form so that Esc quits it like Ctrl-C, unless the
// focused field has an enabled key binding for Esc of its own (closing or
// clearing a filter).
type escQuits struct{ form *huh.Form }

var (
	escKey   = tea.KeyMsg{Type: tea.KeyEsc}
	ctrlCKey = tea.KeyMsg{Type: tea.KeyCtrlC}
)

func (m escQuits) Init() tea.Cmd { return m.form.Init() }

func (m escQuits) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	if k, ok := msg.(tea.KeyMsg); ok && k.Type == tea.KeyEsc && !k.Alt && !fieldUsesEsc(m.form.GetFocusedField()) {
		msg = ctrlCKey
	}
	_, cmd := m.form.Update(msg)
	return m, cmd
}

func (m escQuits) View() string { return m.form.View() }

func fieldUsesEsc(f huh.Field) bool {
	if f == nil {
		return false
	}
	for _, b := range f.KeyBinds() {
		if b.Enabled() && key.Matches(escKey, b) {
			return true
		}
	}
	return false
}

// eofReader remembers whether the input ended, which huh's accessible
// prompts do not report: they take the default answer instead.
type eofReader struct {
	r   io.Reader
	mu  sync.Mutex
	eof bool
}

// Read reads from the wrapped reader until its first end of input, and
// from then on reports end of input at once. A terminal reports Ctrl-D as
// one end of input and then reads on; staying at the end lets the rest of
// the form finish without waiting for more answers, so that the wizard can
// abort.
func (e *eofReader) Read(p []byte) (int, error) {
	if e.closed() {
		return 0, io.EOF
	}
	n, err := e.r.Read(p)
	if errors.Is(err, io.EOF) {
		e.mu.Lock()
		e.eof = true
		e.mu.Unlock()
	}
	return n, err
}

func (e *eofReader) closed() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.eof
}
