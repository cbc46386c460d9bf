package wizard

import (
	"fmt"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/huh"
	"github.com/charmbracelet/lipgloss"
	"github.com/muesli/termenv"
)

func serviceNames(n int) []string {
	names := make([]string, n)
	for i := range names {
		names[i] = fmt.Sprintf("service-%04d", i)
	}
	return names
}

// pickerForm is the repository step as the wizard builds it on a
// terminal: the picker, then the typed names.
func pickerForm(t *testing.T, names []string, picked *[]string) (tea.Model, *huh.Form) {
	t.Helper()
	w := New(Deps{}, Options{})
	typed := &liveText{}
	f := w.form(huh.NewGroup(w.picker(names, picked)), huh.NewGroup(w.input("Other", "", typed, func(string) error { return nil })...))
	f.SubmitCmd, f.CancelCmd = tea.Quit, tea.Quit
	var m tea.Model = escQuits{f}
	m.Init()
	m, _ = m.Update(tea.WindowSizeMsg{Width: 120, Height: 40})
	return m, f
}

// press sends keys as Bubble Tea would, running the commands they return
// (huh moves between fields and groups with commands). A command that does
// not answer at once, such as a cursor blink timer, is dropped.
func press(m tea.Model, keys ...tea.KeyMsg) tea.Model {
	for _, k := range keys {
		queue := []tea.Msg{k}
		for steps := 0; len(queue) > 0 && steps < 100; steps++ {
			var cmd tea.Cmd
			m, cmd = m.Update(queue[0])
			queue = append(queue[1:], results(cmd)...)
		}
		_ = m.View()
	}
	return m
}

func results(cmd tea.Cmd) []tea.Msg {
	if cmd == nil {
		return nil
	}
	ch := make(chan tea.Msg, 1)
	go func() { ch <- cmd() }()
	var msg tea.Msg
	select {
	case msg = <-ch:
	case <-time.After(20 * time.Millisecond):
		return nil
	}
	switch msg := msg.(type) {
	case nil:
		return nil
	case tea.BatchMsg:
		var out []tea.Msg
		for _, c := range msg {
			out = append(out, results(c)...)
		}
		return out
	}
	// tea.Sequence's message type is unexported: a slice of commands.
	if v := reflect.ValueOf(msg); v.Kind() == reflect.Slice && v.Type().Elem() == reflect.TypeOf(tea.Cmd(nil)) {
		var out []tea.Msg
		for i := range v.Len() {
			out = append(out, results(v.Index(i).Interface().(tea.Cmd))...)
		}
		return out
	}
	return []tea.Msg{msg}
}

func runes(s string) []tea.KeyMsg {
	var out []tea.KeyMsg
	for _, r := range s {
		out = append(out, tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune{r}})
	}
	return out
}

var (
	down  = tea.KeyMsg{Type: tea.KeyDown}
	space = tea.KeyMsg{Type: tea.KeySpace, Runes: []rune{' '}}
	enter = tea.KeyMsg{Type: tea.KeyEnter}
	esc   = tea.KeyMsg{Type: tea.KeyEsc}
)

var optionRow = regexp.MustCompile(`^┃\s+(?:> )?[•✓] (\S+)`)

// visible returns the picker's option rows, top first.
func visible(view string) []string {
	var out []string
	for _, line := range strings.Split(view, "\n") {
		if m := optionRow.FindStringSubmatch(line); m != nil {
			out = append(out, m[1])
		}
	}
	return out
}

// TestPickerStaysQuickWithThousandsOfRepositories measures the CPU time of
// a keystroke (update and redraw) with colors on, as in a terminal. huh's
// MultiSelect took about 0.2 s per key with 3,000 options here, growing
// with the list; the picker draws only its visible rows.
func TestPickerStaysQuickWithThousandsOfRepositories(t *testing.T) {
	lipgloss.SetColorProfile(termenv.ANSI256)
	defer lipgloss.SetColorProfile(termenv.Ascii)
	for _, n := range []int{3000, 30000} {
		var picked []string
		m, _ := pickerForm(t, serviceNames(n), &picked)
		keys := append([]tea.KeyMsg{down, down, down, {Type: tea.KeyRunes, Runes: []rune{'/'}}}, runes("service-12")...)
		start, wall := cpuTime(), time.Now()
		for _, k := range keys {
			m, _ = m.Update(k)
			_ = m.View()
		}
		perKey := (cpuTime() - start) / time.Duration(len(keys))
		t.Logf("%d repositories: %s of CPU per keystroke (%s by the clock)", n, perKey, time.Since(wall)/time.Duration(len(keys)))
		if perKey > 50*time.Millisecond {
			t.Errorf("%d repositories: %s of CPU per keystroke, want well under 50ms", n, perKey)
		}
	}
}

func TestPickerFilterBringsNameToTop(t *testing.T) {
	names := []string{"app-service-0042", "service-0042-old", "service-0042", "team/service-0042x"}
	for i := range 50 {
		names = append(names, fmt.Sprintf("web-%02d", i))
	}
	var picked []string
	m, f := pickerForm(t, names, &picked)
	m = press(m, append([]tea.KeyMsg{{Type: tea.KeyRunes, Runes: []rune{'/'}}}, runes("service-0042")...)...)
	want := []string{"service-0042", "service-0042-old", "team/service-0042x", "app-service-0042"}
	if got := visible(m.View()); !reflect.DeepEqual(got, want) {
		t.Fatalf("filtered rows %q, want %q (exact, prefix, component prefix, substring)", got, want)
	}
	// Esc ends filtering, a second Esc clears the filter: neither quits.
	m = press(m, esc, space)
	if f.State != huh.StateNormal || !reflect.DeepEqual(picked, []string{"service-0042"}) {
		t.Fatalf("state %v, picked %q; want the form open and service-0042 picked", f.State, picked)
	}
	m = press(m, esc)
	if f.State != huh.StateNormal || len(visible(m.View())) != pickerRows {
		t.Fatalf("esc on a set filter: state %v, rows %d", f.State, len(visible(m.View())))
	}
	// With no filter left, Esc quits like Ctrl-C.
	press(m, esc)
	if f.State != huh.StateAborted {
		t.Errorf("esc without a filter: state %v, want aborted", f.State)
	}
}

func TestPickerMovesSelectsAndScrolls(t *testing.T) {
	var picked []string
	m, f := pickerForm(t, serviceNames(100), &picked)
	m = press(m, space, down, down, space)
	for range pickerRows + 3 {
		m = press(m, down)
	}
	rows := visible(m.View())
	if len(rows) != pickerRows || rows[len(rows)-1] != fmt.Sprintf("service-%04d", pickerRows+5) {
		t.Errorf("after scrolling, rows %q", rows)
	}
	if !strings.Contains(m.View(), "100 of 100 shown, 2 selected") {
		t.Errorf("no status line:\n%s", m.View())
	}
	press(m, enter)
	if !reflect.DeepEqual(picked, []string{"service-0000", "service-0002"}) {
		t.Errorf("picked %q", picked)
	}
	if !strings.Contains(f.View(), "Other") {
		t.Errorf("enter did not move on to the typed names:\n%s", f.View())
	}
}
