package main

import (
	"strings"

	"github.com/lynctrust/lynctrust/change"
	"github.com/lynctrust/lynctrust/lync"
)

// diffGrid is the difference a plan makes, collection by collection.
func diffGrid(p *change.Plan) grid {
	gr := grid{name: "difference", main: true, title: "the difference", header: []string{"collection", "", "thumbprint", "CA store"}}
	csv := grid{name: gr.name, main: true, header: []string{"collection", "change", "thumbprint", "CA store"}}
	row := func(id, mark, word, thumb, store string) {
		gr.rows = append(gr.rows, []string{id, mark, thumb, store})
		csv.rows = append(csv.rows, []string{id, word, thumb, store})
	}
	before := p.Before()
	for _, id := range lync.Identities(p.Want) {
		s := string(id)
		for _, e := range before[id] {
			if holds(p.Want[id], e) {
				row(s, " ", "kept", e.Thumbprint.String(), string(e.CAStore))
			} else {
				row(s, "-", "removed", e.Thumbprint.String(), string(e.CAStore))
			}
		}
		for _, e := range p.Want[id] {
			if !holds(before[id], e) {
				row(s, "+", "added", e.Thumbprint.String(), string(e.CAStore))
			}
		}
		switch {
		case len(before[id]) == 0 && len(p.Want[id]) == 0:
			gr.rows = append(gr.rows, []string{s, " ", "(empty)", ""})
			csv.rows = append(csv.rows, []string{s, "empty", "", ""})
		case len(p.Want[id]) == 0:
			gr.rows = append(gr.rows, []string{s, " ", "(empty afterwards: no CA trusted)", ""})
			csv.rows = append(csv.rows, []string{s, "empty afterwards", "", ""})
		}
	}
	gr.csv = &csv
	return gr
}

// changePage is the top of a change's HTML report: the verdict, the
// server, and the exact PowerShell.
func changePage(p *change.Plan, user, verdict, level, script string) *page {
	pg := &page{verdict: verdict, level: level, user: user}
	if p.Inventory != nil {
		pg.fact("deployment", deployment(p.Inventory.Pools))
		pg.fact("product", product(p.Inventory.Module, p.Inventory.PSVersion))
	}
	pg.fact("server", p.Host())
	pg.fact("change", p.Command)
	pg.block("the PowerShell that "+map[bool]string{true: "would run", false: "ran"}[level == "warning"]+" on "+p.Host(), script)
	return pg
}

// beforeAfterGrid shows each collection's list before and after.
func beforeAfterGrid(before, after map[lync.Identity][]lync.Entry) grid {
	gr := grid{name: "before-after", title: "before and after", header: []string{"collection", "before", "after"}}
	for _, id := range lync.Identities(after) {
		gr.rows = append(gr.rows, []string{string(id), entryLines(before[id]), entryLines(after[id])})
	}
	return gr
}

func entryLines(list []lync.Entry) string {
	if len(list) == 0 {
		return "(none)"
	}
	var s []string
	for _, e := range list {
		s = append(s, e.String())
	}
	return strings.Join(s, "\n")
}

func holds(list []lync.Entry, e lync.Entry) bool {
	for _, x := range list {
		if x == e {
			return true
		}
	}
	return false
}
