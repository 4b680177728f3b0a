package main

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/jedib0t/go-pretty/v6/table"
	"github.com/jedib0t/go-pretty/v6/text"
)

// grid is one table of a report: the same rows feed the table, CSV, Markdown
// and HTML renderings.
type grid struct {
	name string // what --table calls it; "" for a command's only table
	main bool   // the one --output csv writes when --table does not say
	// optional grids are left out when they have no rows, unless picked by name.
	optional bool
	// fold, when not 0, is the first column of free text: in a table too wide
	// for the terminal, those columns go under their row (renderBlocks).
	fold   int
	title  string
	header []string
	rows   [][]string
	// csv, when set, is the grid as --output csv writes it: a header for
	// every column and a value in every row that Import-Csv can read.
	csv *grid
}

// plainStyle is what piped table output uses: no borders and no colour, columns
// separated by two spaces, so that awk and cut can read it.
var plainStyle = func() table.Style {
	s := table.StyleDefault
	s.Name = "plain"
	s.Box.PaddingLeft = ""
	s.Box.PaddingRight = "  "
	s.Options = table.Options{}
	s.Format.Header = text.FormatUpper
	return s
}()

// emit writes a report in the chosen output format: v as JSON, or the grids.
func (g *globals) emit(v any, grids ...grid) error {
	if g.output == "json" {
		emptyLists(v)
		b, err := json.MarshalIndent(v, "", "  ")
		if err != nil {
			return fmt.Errorf("encoding JSON: %w", err)
		}
		_, err = fmt.Fprintf(g.stdout, "%s\n", b)
		return err
	}
	grids, err := g.pickTables(grids)
	if err != nil {
		return err
	}
	if g.output == "html" {
		fmt.Fprint(g.stdout, htmlHead)
		g.writeHeader()
	}
	shown := 0
	for _, gr := range grids {
		if gr.optional && len(gr.rows) == 0 && g.table == "" {
			continue
		}
		if shown++; shown > 1 && (g.output == "table" || g.output == "markdown") {
			fmt.Fprintln(g.stdout)
		}
		if err := g.renderGrid(gr); err != nil {
			return err
		}
	}
	if g.output == "html" {
		g.writeBlocks()
		fmt.Fprintf(g.stdout, "<p class=\"generated\">lynctrust %s, %s</p>\n</body>\n</html>\n", htmlEscape(versionString()), g.now().Format("2006-01-02 15:04 MST (UTC-07:00)"))
	}
	return nil
}

// pickTables keeps the tables that the output shows: with --table NAME, that
// one; in CSV, which holds one table so that Import-Csv and spreadsheets can
// read it, the command's main one. Tables of one name (one per OWA URL, say)
// are written as one, with a first column that says which each row is from.
func (g *globals) pickTables(grids []grid) ([]grid, error) {
	name := g.table
	if name == "" && g.output != "csv" || len(grids) == 0 {
		return grids, nil
	}
	if name == "" {
		name = grids[0].name
		for _, gr := range grids {
			if gr.main {
				name = gr.name
				break
			}
		}
	}
	var picked []grid
	var names []string
	for _, gr := range grids {
		if gr.name == name || name == "main" && gr.name == "" {
			picked = append(picked, gr)
		}
		if n := tableName(gr); !contains(names, n) {
			names = append(names, n)
		}
	}
	if len(picked) == 0 {
		return nil, usageErrorf("--table %q: this command's tables are %s", name, strings.Join(names, ", "))
	}
	if len(picked) == 1 {
		return picked, nil
	}
	one := grid{name: name, title: picked[0].title, header: append([]string{"table"}, picked[0].header...)}
	for _, gr := range picked {
		for _, r := range gr.rows {
			one.rows = append(one.rows, append([]string{gr.title}, r...))
		}
	}
	return []grid{one}, nil
}

func tableName(gr grid) string {
	if gr.name == "" {
		return "main"
	}
	return gr.name
}

// htmlHead makes the HTML output a page a change board can open: every
// table of the report, findings coloured by severity.
const htmlHead = `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>lynctrust report</title>
<style>
body { font-family: Segoe UI, Helvetica, Arial, sans-serif; margin: 2em; color: #222; }
h3 { margin-top: 1.6em; }
table { border-collapse: collapse; margin: 0.5em 0; }
th, td { border: 1px solid #bbb; padding: 0.3em 0.6em; text-align: left; vertical-align: top; white-space: pre-wrap; }
th { background: #eee; }
td.error { background: #f8d7da; font-weight: bold; }
td.warning { background: #fff3cd; }
td.info { background: #d1ecf1; }
td.fail { background: #f8d7da; font-weight: bold; color: #721c24; }
td.warn { background: #fff3cd; }
td.pass { background: #d4edda; color: #155724; }
td.skip { color: #777; }
.verdict { font-size: 1.3em; font-weight: bold; padding: 0.6em 1em; border-radius: 4px; }
.verdict.pass { background: #d4edda; color: #155724; border: 1px solid #9fd3ab; }
.verdict.warning { background: #fff3cd; color: #6b4e00; border: 1px solid #f0d77a; }
.verdict.error { background: #f8d7da; color: #721c24; border: 1px solid #e3a1a8; }
table.facts th { background: none; border: none; text-align: right; font-weight: normal; color: #555; white-space: nowrap; }
table.facts td { border: none; font-family: Consolas, Menlo, monospace; }
pre { background: #f6f8fa; border: 1px solid #ddd; padding: 0.8em; font-size: 0.85em; white-space: pre-wrap; }
.generated { color: #777; font-size: 0.85em; margin-top: 2em; }
</style>
</head>
<body>
<h1>lynctrust report</h1>
`

func (g *globals) renderGrid(gr grid) error {
	if g.output == "csv" && gr.csv != nil {
		gr = *gr.csv
	}
	// Cells quote servers (site and computer names, certificate subjects,
	// PowerShell's errors): no control character of theirs reaches the
	// terminal, whatever the format.
	gr.title = escapeControls(gr.title)
	gr.header = escapeAll(gr.header)
	rows := make([][]string, len(gr.rows))
	for i, r := range gr.rows {
		rows[i] = escapeAll(r)
	}
	gr.rows = rows
	if g.output == "table" {
		return g.renderText(gr)
	}
	t := table.NewWriter()
	if gr.header != nil {
		t.AppendHeader(toRow(gr.header))
	}
	for _, r := range gr.rows {
		t.AppendRow(toRow(r))
	}
	var out string
	switch g.output {
	case "csv":
		out = t.RenderCSV()
	case "markdown":
		if gr.title != "" {
			fmt.Fprintf(g.stdout, "### %s\n\n", gr.title)
		}
		out = t.RenderMarkdown()
	case "html":
		if gr.title != "" {
			fmt.Fprintf(g.stdout, "<h3>%s</h3>\n", htmlEscape(gr.title))
		}
		out = severityClasses(t.RenderHTML())
	}
	_, err := fmt.Fprintln(g.stdout, out)
	return err
}

// renderText draws a grid for people: boxed and coloured on a terminal,
// plain columns when piped, fitted to g.width when there is one.
func (g *globals) renderText(gr grid) error {
	build := func() table.Writer {
		t := table.NewWriter()
		if gr.header != nil {
			t.AppendHeader(toRow(gr.header))
		}
		for _, r := range gr.rows {
			painted := make([]string, len(r))
			for i, c := range r {
				painted[i] = c
				if i < len(gr.header) {
					painted[i] = g.paint(gr.header[i], c)
				}
			}
			t.AppendRow(toRow(painted))
		}
		if g.terminal {
			t.SetStyle(table.StyleLight)
			if gr.title != "" {
				t.SetTitle(gr.title)
			}
			if !g.color {
				t.Style().Color = table.ColorOptions{}
			}
		} else {
			t.SetStyle(plainStyle)
		}
		return t
	}
	t := build()
	out := t.Render()
	if w := widest(out); g.width > 0 && w > g.width {
		if gr.fold > 0 && gr.header != nil {
			_, err := fmt.Fprintln(g.stdout, g.renderBlocks(gr))
			return err
		}
		t = build()
		fitColumns(t, gr, w, g.width)
		out = t.Render()
		if widest(trimLines(out)) > g.width && gr.header != nil {
			// Even wrapped at spaces the columns do not fit: each row
			// becomes a record, a field a line.
			_, err := fmt.Fprintln(g.stdout, g.renderRecords(gr))
			return err
		}
	}
	if !g.terminal {
		if gr.title != "" && g.width > 0 {
			fmt.Fprintln(g.stdout, wrapSpaces(gr.title, g.width))
		} else if gr.title != "" {
			fmt.Fprintln(g.stdout, gr.title)
		}
		out = trimLines(out)
	}
	_, err := fmt.Fprintln(g.stdout, out)
	return err
}

func toRow(cells []string) table.Row {
	r := make(table.Row, len(cells))
	for i, c := range cells {
		r[i] = c
	}
	return r
}

func escapeAll(cells []string) []string {
	out := make([]string, len(cells))
	for i, c := range cells {
		out[i] = escapeControls(c)
	}
	return out
}

func trimLines(s string) string {
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = strings.TrimRight(l, " ")
	}
	return strings.Join(lines, "\n")
}

func htmlEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;").Replace(s)
}

// named gives a grid the name --table knows it by.
func named(name string, gr grid) grid {
	gr.name = name
	return gr
}

// record renders one object as a two-column grid for people.
func record(title string, kv ...string) grid {
	gr := grid{title: title, header: []string{"field", "value"}}
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] == "" {
			continue
		}
		gr.rows = append(gr.rows, []string{kv[i], kv[i+1]})
	}
	return gr
}

// severityClasses marks the severity cells of findings so the page colours them.
func severityClasses(html string) string {
	for _, sev := range []string{"error", "warning", "info", "fail", "warn", "pass", "skip"} {
		html = strings.ReplaceAll(html, "<td>"+sev+"</td>", `<td class="`+sev+`">`+sev+"</td>")
	}
	return html
}
