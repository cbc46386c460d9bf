package wizard

import (
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/charmbracelet/bubbles/key"
	"github.com/charmbracelet/bubbles/textinput"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/huh"
	"github.com/charmbracelet/lipgloss"
)

// picker is a filterable multi-select field for long lists, such as every
// ECR repository of a region. It has huh's MultiSelect keys and look, but
// draws only the visible rows. huh's MultiSelect styles every option on
// every message, whatever its height: with 3,000 repositories that measured
// about 0.8 s of CPU per keystroke in the built binary on a two-core
// machine, and seconds of lag in a terminal. Filtering also ranks the
// matches, so that typing a name brings that repository to the top even
// when longer names contain it.
type picker struct {
	title, description string
	names              []string // in display order
	lower              []string // names in lower case, for filtering
	picked             []bool   // by index into names
	count              int      // how many are picked
	value              *[]string

	matches []int // indexes into names that pass the filter, best first
	cursor  int   // index into matches
	offset  int   // first visible match
	rows    int   // visible rows

	filter    textinput.Model
	filtering bool
	focused   bool
	err       error
	validate  func([]string) error

	width    int
	theme    *huh.Theme
	keys     huh.MultiSelectKeyMap
	position huh.FieldPosition
	key      string
}

var _ huh.Field = (*picker)(nil)

// newPicker returns a picker over names showing up to rows options at a
// time; the picked names are stored in *value, in the order of names.
func newPicker(title, description string, names []string, rows int, value *[]string) *picker {
	p := &picker{
		title: title, description: description,
		names: names, lower: make([]string, len(names)), picked: make([]bool, len(names)),
		value: value, rows: max(1, min(rows, len(names))),
		filter:   textinput.New(),
		validate: func([]string) error { return nil },
		keys:     huh.NewDefaultKeyMap().MultiSelect,
	}
	p.filter.Prompt = "/"
	for i, n := range names {
		p.lower[i] = strings.ToLower(n)
		if slices.Contains(*value, n) {
			p.picked[i] = true
			p.count++
		}
	}
	p.refilter()
	return p
}

// refilter ranks the names against the filter: an exact match first, then
// names starting with it, then names with a path component starting with
// it, then names containing it; the list order within each rank.
func (p *picker) refilter() {
	f := strings.ToLower(p.filter.Value())
	p.matches = p.matches[:0]
	if f == "" {
		for i := range p.names {
			p.matches = append(p.matches, i)
		}
	} else {
		var ranked [4][]int
		for i, n := range p.lower {
			switch {
			case n == f:
				ranked[0] = append(ranked[0], i)
			case strings.HasPrefix(n, f):
				ranked[1] = append(ranked[1], i)
			case strings.Contains(n, "/"+f):
				ranked[2] = append(ranked[2], i)
			case strings.Contains(n, f):
				ranked[3] = append(ranked[3], i)
			}
		}
		p.matches = slices.Concat(p.matches, ranked[0], ranked[1], ranked[2], ranked[3])
	}
	p.cursor, p.offset = 0, 0
}

func (p *picker) move(delta int) {
	if len(p.matches) == 0 {
		return
	}
	p.cursor = max(0, min(p.cursor+delta, len(p.matches)-1))
	if p.cursor < p.offset {
		p.offset = p.cursor
	}
	if p.cursor >= p.offset+p.rows {
		p.offset = p.cursor - p.rows + 1
	}
}

func (p *picker) store() {
	out := make([]string, 0, p.count)
	for i, ok := range p.picked {
		if ok {
			out = append(out, p.names[i])
		}
	}
	*p.value = out
}

func (p *picker) set(i int, on bool) {
	if p.picked[i] != on {
		p.picked[i] = on
		if on {
			p.count++
		} else {
			p.count--
		}
	}
}

// updateKeys enables the bindings that apply now, which both the help line
// and the key matching respect.
func (p *picker) updateKeys() {
	k := &p.keys
	k.Filter.SetEnabled(!p.filtering)
	k.SetFilter.SetEnabled(p.filtering)
	k.ClearFilter.SetEnabled(!p.filtering && p.filter.Value() != "")
	k.Prev.SetEnabled(!p.filtering && !p.position.IsFirst())
	k.Next.SetEnabled(!p.filtering && !p.position.IsLast())
	k.Submit.SetEnabled(!p.filtering && p.position.IsLast())
	// While filtering, x, space and ctrl+a edit the filter.
	k.Toggle.SetEnabled(!p.filtering)
	all := len(p.matches) > 0 && !slices.ContainsFunc(p.matches, func(i int) bool { return !p.picked[i] })
	k.SelectAll.SetEnabled(!p.filtering && !all)
	k.SelectNone.SetEnabled(!p.filtering && all)
}

func (p *picker) setFiltering(on bool) tea.Cmd {
	p.filtering = on
	p.updateKeys()
	if on {
		return p.filter.Focus()
	}
	p.filter.Blur()
	return nil
}

// Init implements huh.Field.
func (p *picker) Init() tea.Cmd { return nil }

// Update implements huh.Field.
func (p *picker) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	k, ok := msg.(tea.KeyMsg)
	if !ok {
		if p.filtering {
			var cmd tea.Cmd
			p.filter, cmd = p.filter.Update(msg) // cursor blink
			return p, cmd
		}
		return p, nil
	}
	p.err = nil
	if p.filtering {
		switch {
		case key.Matches(k, p.keys.SetFilter):
			return p, p.setFiltering(false)
		case k.Type == tea.KeyUp:
			p.move(-1)
			return p, nil
		case k.Type == tea.KeyDown:
			p.move(1)
			return p, nil
		}
		before := p.filter.Value()
		var cmd tea.Cmd
		p.filter, cmd = p.filter.Update(k)
		if p.filter.Value() != before {
			p.refilter()
			p.updateKeys()
		}
		return p, cmd
	}
	switch {
	case key.Matches(k, p.keys.Filter):
		return p, p.setFiltering(true)
	case key.Matches(k, p.keys.ClearFilter):
		p.filter.SetValue("")
		p.refilter()
	case key.Matches(k, p.keys.Up):
		p.move(-1)
	case key.Matches(k, p.keys.Down):
		p.move(1)
	case key.Matches(k, p.keys.HalfPageUp):
		p.move(-max(1, p.rows/2))
	case key.Matches(k, p.keys.HalfPageDown):
		p.move(max(1, p.rows/2))
	case key.Matches(k, p.keys.GotoTop):
		p.move(-len(p.matches))
	case key.Matches(k, p.keys.GotoBottom):
		p.move(len(p.matches))
	case key.Matches(k, p.keys.Toggle):
		if len(p.matches) > 0 {
			i := p.matches[p.cursor]
			p.set(i, !p.picked[i])
			p.store()
		}
	case key.Matches(k, p.keys.SelectAll, p.keys.SelectNone):
		on := p.keys.SelectAll.Enabled()
		for _, i := range p.matches {
			p.set(i, on)
		}
		p.store()
	case key.Matches(k, p.keys.Prev, p.keys.Next, p.keys.Submit):
		p.store()
		if p.err = p.validate(*p.value); p.err != nil {
			return p, nil
		}
		if key.Matches(k, p.keys.Prev) {
			return p, huh.PrevField
		}
		return p, huh.NextField
	}
	p.updateKeys()
	return p, nil
}

func (p *picker) styles() *huh.FieldStyles {
	t := p.theme
	if t == nil {
		t = huh.ThemeCharm()
		p.theme = t
	}
	if p.focused {
		return &t.Focused
	}
	return &t.Blurred
}

// View implements huh.Field. Its height is constant: title, description,
// rows and a status line.
func (p *picker) View() string {
	s := p.styles()
	var b strings.Builder
	if p.filtering {
		b.WriteString(p.filter.View())
	} else {
		b.WriteString(s.Title.Render(p.title))
		if f := p.filter.Value(); f != "" {
			b.WriteString(s.Description.Render(" /" + f))
		}
	}
	if p.err != nil {
		b.WriteString(s.ErrorIndicator.String())
	}
	b.WriteString("\n" + s.Description.Render(p.description) + "\n")
	selector := s.MultiSelectSelector.String()
	blank := strings.Repeat(" ", lipgloss.Width(selector))
	for r := range p.rows {
		if m := p.offset + r; m < len(p.matches) {
			i := p.matches[m]
			if m == p.cursor {
				b.WriteString(selector)
			} else {
				b.WriteString(blank)
			}
			if p.picked[i] {
				b.WriteString(s.SelectedPrefix.String() + s.SelectedOption.Render(p.names[i]))
			} else {
				b.WriteString(s.UnselectedPrefix.String() + s.UnselectedOption.Render(p.names[i]))
			}
		}
		b.WriteString("\n")
	}
	status := fmt.Sprintf("%d of %d shown, %d selected", len(p.matches), len(p.names), p.count)
	if len(p.matches) == 0 {
		status = fmt.Sprintf("no repository matches /%s; esc clears the filter", p.filter.Value())
	}
	b.WriteString(s.Description.Render(status))
	return s.Base.Width(p.width).Render(b.String())
}

// Focus implements huh.Field.
func (p *picker) Focus() tea.Cmd {
	p.focused = true
	p.updateKeys()
	return nil
}

// Blur implements huh.Field.
func (p *picker) Blur() tea.Cmd {
	p.focused = false
	p.store()
	p.err = p.validate(*p.value)
	return nil
}

// Error implements huh.Field.
func (p *picker) Error() error { return p.err }

// Run implements huh.Field.
func (p *picker) Run() error { return huh.Run(p) }

// RunAccessible implements huh.Field with huh's own numbered list, which
// suits the short lists accessible mode shows.
func (p *picker) RunAccessible(w io.Writer, r io.Reader) error {
	opts := make([]huh.Option[string], len(p.names))
	for i, n := range p.names {
		opts[i] = huh.NewOption(n, n)
	}
	return huh.NewMultiSelect[string]().Title(p.title).Options(opts...).Value(p.value).Validate(p.validate).RunAccessible(w, r)
}

// Skip implements huh.Field.
func (p *picker) Skip() bool { return false }

// Zoom implements huh.Field.
func (p *picker) Zoom() bool { return false }

// KeyBinds implements huh.Field; disabled bindings are left out of help.
func (p *picker) KeyBinds() []key.Binding {
	k := p.keys
	return []key.Binding{k.Toggle, k.Up, k.Down, k.Filter, k.SetFilter, k.ClearFilter, k.Prev, k.Submit, k.Next, k.SelectAll, k.SelectNone}
}

// WithTheme implements huh.Field; a theme set earlier is kept.
func (p *picker) WithTheme(t *huh.Theme) huh.Field {
	if p.theme == nil {
		p.theme = t
	}
	p.filter.Cursor.Style = p.theme.Focused.TextInput.Cursor
	p.filter.Cursor.TextStyle = p.theme.Focused.TextInput.CursorText
	p.filter.PromptStyle = p.theme.Focused.TextInput.Prompt
	p.filter.TextStyle = p.theme.Focused.TextInput.Text
	p.filter.PlaceholderStyle = p.theme.Focused.TextInput.Placeholder
	return p
}

// WithAccessible implements huh.Field; accessible mode calls RunAccessible.
func (p *picker) WithAccessible(bool) huh.Field { return p }

// WithKeyMap implements huh.Field.
func (p *picker) WithKeyMap(k *huh.KeyMap) huh.Field {
	p.keys = k.MultiSelect
	p.updateKeys()
	return p
}

// WithWidth implements huh.Field.
func (p *picker) WithWidth(width int) huh.Field {
	p.width = width
	return p
}

// WithHeight implements huh.Field. huh lowers a field's height only when
// the terminal is too short for it; the rows give way.
func (p *picker) WithHeight(height int) huh.Field {
	const chrome = 3 // title, description, status
	p.rows = max(1, min(p.rows, height-chrome))
	p.move(0)
	return p
}

// WithPosition implements huh.Field.
func (p *picker) WithPosition(pos huh.FieldPosition) huh.Field {
	p.position = pos
	p.updateKeys()
	return p
}

// GetKey implements huh.Field.
func (p *picker) GetKey() string { return p.key }

// GetValue implements huh.Field.
func (p *picker) GetValue() any { return *p.value }
