package main

import (
	"strings"
	"testing"
	"unicode/utf16"
)

// A password file as Windows tools write it is read as the password: with
// Notepad's byte order mark, or as UTF-16 from Windows PowerShell 5.1's
// Out-File. Those were sent with their marks, as a wrong password.
func TestPasswordText(t *testing.T) {
	utf16le := func(s string, bom bool) []byte {
		var b []byte
		if bom {
			b = []byte{0xFF, 0xFE}
		}
		for _, u := range utf16.Encode([]rune(s)) {
			b = append(b, byte(u), byte(u>>8))
		}
		return b
	}
	utf16be := func(s string) []byte {
		b := []byte{0xFE, 0xFF}
		for _, u := range utf16.Encode([]rune(s)) {
			b = append(b, byte(u>>8), byte(u))
		}
		return b
	}
	for name, file := range map[string][]byte{
		"UTF-8":                []byte("Pä55w.rd\n"),
		"UTF-8 with BOM, CRLF": append([]byte{0xEF, 0xBB, 0xBF}, "Pä55w.rd\r\n"...),
		"UTF-16 LE (Out-File)": utf16le("Pä55w.rd\r\n", true),
		"UTF-16 BE":            utf16be("Pä55w.rd\r\n"),
	} {
		if got, err := passwordText(file); err != nil || got != "Pä55w.rd" {
			t.Errorf("%s: %q, %v", name, got, err)
		}
	}
	for name, file := range map[string][]byte{
		"Latin-1":              []byte("P\xe455w.rd\n"),
		"UTF-16 without a BOM": utf16le("Pa55w.rd", false)[:7],
	} {
		if got, err := passwordText(file); err == nil || !strings.Contains(err.Error(), "UTF-8") {
			t.Errorf("%s: read as %q, %v", name, got, err)
		}
	}
}
