package psremote

import "testing"

// lineIndex finds a record's line, and when there is none says where to
// look next: after the last whole line, so that Until and Wait look at each
// line once however many Receives the output takes.
func TestLineIndexResumes(t *testing.T) {
	mark := recordPrefix + "ready"
	out := []byte("a\r\nLYNCTRUST\treadyish\nLYNCTRUST\tready-not\nhalf a li")
	end, next := lineIndex(out, 0, mark)
	if end != -1 || next != len("a\r\nLYNCTRUST\treadyish\nLYNCTRUST\tready-not\n") {
		t.Fatalf("lineIndex = %d, %d: want no record, next after the last whole line", end, next)
	}
	out = append(out, "ne\nLYNCTRUST\tready\tx\r\nmore"...)
	end, next2 := lineIndex(out, next, mark)
	if want := len(out) - len("more"); end != want || next2 != want {
		t.Errorf("lineIndex from %d = %d, %d: want %d", next, end, next2, want)
	}
	if end, _ := lineIndex(out, end, mark); end != -1 {
		t.Errorf("a second look after the record found %d", end)
	}
	if end, _ := lineIndex([]byte("LYNCTRUST\tready\n"), 0, mark); end != len("LYNCTRUST\tready\n") {
		t.Errorf("a record alone on its line: %d", end)
	}
}
