package main

import (
	"strings"

	"github.com/jedib0t/go-pretty/v6/table"
	"github.com/jedib0t/go-pretty/v6/text"
)

// Tables fit the terminal: a table wider than g.width has its widest
// columns wrapped at spaces, and a grid with long free text (findings, the
// doctor's evidence) is shown as blocks, the text under its row. A token (a
// thumbprint, a URL, a word of a command) is never split: a line holding
// one longer than the width overflows instead.

// wrapSpaces wraps s at spaces to lines of at most n characters, keeping
// its line breaks; a word longer than n has a line of its own.
func wrapSpaces(s string, n int) string {
	if n <= 0 {
		return s
	}
	var out []string
	for _, line := range strings.Split(s, "\n") {
		cur := ""
		for _, w := range strings.Fields(line) {
			switch {
			case cur == "":
				cur = w
			case text.StringWidthWithoutEscSequences(cur)+1+text.StringWidthWithoutEscSequences(w) <= n:
				cur += " " + w
			default:
				out = append(out, cur)
				cur = w
			}
		}
		out = append(out, cur)
	}
	return strings.Join(out, "\n")
}

// hanging wraps each line of s to n columns; when s holds several (the
// doctor's evidence), their continuation lines are indented two more than
// pad so that one item reads apart from the next.
func hanging(s string, n int, pad string) string {
	lines := strings.Split(s, "\n")
	if len(lines) == 1 {
		return strings.ReplaceAll(wrapSpaces(s, n), "\n", "\n"+pad)
	}
	for i, l := range lines {
		lines[i] = strings.ReplaceAll(wrapSpaces(l, n-2), "\n", "\n"+pad+"  ")
	}
	return strings.Join(lines, "\n"+pad)
}

// longestWord is the width of the longest space-separated word in s.
func longestWord(s string) int {
	n := 0
	for _, w := range strings.Fields(s) {
		if l := text.StringWidthWithoutEscSequences(w); l > n {
			n = l
		}
	}
	return n
}

func widest(s string) int { return text.LongestLineLen(s) }

// fitColumns caps the widest columns of t so that the table, rendered
// at natural width `rendered` columns wide, fits width, never below a
// column's longest word.
func fitColumns(t table.Writer, gr grid, rendered, width int) {
	n := len(gr.header)
	natural := make([]int, n)
	floor := make([]int, n)
	for _, r := range append([][]string{gr.header}, gr.rows...) {
		for i := 0; i < n && i < len(r); i++ {
			natural[i] = max(natural[i], widest(r[i]))
			floor[i] = max(floor[i], longestWord(r[i]), 1)
		}
	}
	caps := append([]int(nil), natural...)
	excess := rendered - width
	for excess > 0 {
		best := -1
		for i := range caps {
			if caps[i] > floor[i] && (best < 0 || caps[i] > caps[best]) {
				best = i
			}
		}
		if best < 0 {
			break // every column is down to its longest word
		}
		caps[best]--
		excess--
	}
	var cfgs []table.ColumnConfig
	for i := range caps {
		if caps[i] < natural[i] {
			cfgs = append(cfgs, table.ColumnConfig{Number: i + 1, WidthMax: caps[i], WidthMaxEnforcer: wrapSpaces})
		}
	}
	t.SetColumnConfigs(cfgs)
}

// renderBlocks shows a grid's rows one under another: the key columns (those
// before gr.fold) on a line, then each other column's text under it,
// wrapped at spaces to width. The second and later are labelled with
// their header ("fix: …").
func (g *globals) renderBlocks(gr grid) string {
	keyW := make([]int, gr.fold)
	for _, r := range gr.rows {
		for i := 0; i < gr.fold; i++ {
			keyW[i] = max(keyW[i], widest(r[i]))
		}
	}
	keyLen := 0
	for _, w := range keyW {
		keyLen += w + 2
	}
	indent := 4
	sameLine := keyLen <= 12 // a short key (a severity) leads its text
	if sameLine {
		indent = keyLen
	}
	pad := strings.Repeat(" ", indent)
	var b strings.Builder
	if gr.title != "" {
		b.WriteString(wrapSpaces(gr.title, g.width) + "\n")
	}
	for ri, r := range gr.rows {
		if ri > 0 && !sameLine {
			b.WriteString("\n")
		}
		var key strings.Builder
		for i := 0; i < gr.fold; i++ {
			cell := r[i] + strings.Repeat(" ", keyW[i]-widest(r[i]))
			key.WriteString(g.paint(gr.header[i], strings.TrimRight(cell, " ")) + cell[len(strings.TrimRight(cell, " ")):] + "  ")
		}
		first := true
		line := strings.TrimRight(key.String(), " ")
		for i := gr.fold; i < len(r); i++ {
			if r[i] == "" {
				continue
			}
			label := ""
			if i > gr.fold {
				label = gr.header[i] + ": "
			}
			body := hanging(r[i], g.width-indent-len(label), pad+strings.Repeat(" ", len(label)))
			if first && sameLine {
				b.WriteString(key.String() + label + body + "\n")
			} else {
				if first {
					b.WriteString(line + "\n")
				}
				b.WriteString(pad + label + body + "\n")
			}
			first = false
		}
		if first {
			b.WriteString(line + "\n")
		}
	}
	return strings.TrimRight(b.String(), "\n")
}

// renderRecords folds a grid too wide for the terminal: each row is a
// record, one field a line (the header, then the value, wrapped at spaces
// under itself), records apart by a blank line.
func (g *globals) renderRecords(gr grid) string {
	labelW := 0
	for _, h := range gr.header {
		labelW = max(labelW, len(h))
	}
	pad := strings.Repeat(" ", labelW+2)
	var b strings.Builder
	if gr.title != "" {
		b.WriteString(wrapSpaces(gr.title, g.width) + "\n")
	}
	for ri, r := range gr.rows {
		if ri > 0 {
			b.WriteString("\n")
		}
		for i, h := range gr.header {
			if i >= len(r) || r[i] == "" {
				continue
			}
			label := strings.ToUpper(h) + strings.Repeat(" ", labelW-len(h)+2)
			b.WriteString(label + g.paint(h, hanging(r[i], g.width-len(pad), pad)) + "\n")
		}
	}
	return strings.TrimRight(b.String(), "\n")
}

// severityColors are the colours of severities and of the doctor's statuses.
var severityColors = map[string]text.Colors{
	"error":   {text.FgHiRed, text.Bold},
	"fail":    {text.FgHiRed, text.Bold},
	"warning": {text.FgYellow},
	"warn":    {text.FgYellow},
	"info":    {text.FgCyan},
	"pass":    {text.FgGreen},
	"skip":    {text.Faint},
}

// paint colours a severity or status cell, when colour is on.
func (g *globals) paint(column, cell string) string {
	if !g.color || (column != "severity" && column != "status") {
		return cell
	}
	if c, ok := severityColors[cell]; ok {
		return c.Sprint(cell)
	}
	return cell
}
