package trust

import "testing"

func TestAlertRegistryIsComplete(t *testing.T) {
	// Every code the IANA TLS Alerts registry assigns between 0 and 121.
	want := []int{0, 10, 20, 21, 22, 30, 40, 41, 42, 43, 44, 45, 46, 47, 48, 49, 50, 51, 52, 60, 70, 71, 80, 86,
		90, 100, 109, 110, 111, 112, 113, 114, 115, 116, 117, 120, 121}
	got := Alerts()
	if len(got) != len(want) {
		t.Fatalf("%d alerts, want %d", len(got), len(want))
	}
	for i, a := range got {
		if a.Code != want[i] {
			t.Errorf("alert %d: code %d, want %d", i, a.Code, want[i])
		}
		if a.Name == "" || a.Meaning == "" || a.ForLync == "" {
			t.Errorf("alert %d is missing text", a.Code)
		}
	}
	if AlertName(3) != "alert(3)" || AlertName(43) != "unsupported_certificate" {
		t.Errorf("AlertName: %s, %s", AlertName(3), AlertName(43))
	}
	for _, name := range []string{"decryption failed", "DECRYPTION_FAILED_RESERVED", "21"} {
		if a, err := LookupAlert(name); err != nil || a.Code != 21 {
			t.Errorf("LookupAlert(%q) = %v, %v", name, a.Code, err)
		}
	}
}

func TestMatchSymptomsLoosely(t *testing.T) {
	for in, want := range map[string]string{
		"THERE WAS A PROBLEM ACQUIRING A PERSONAL CERTIFICATE":             "There was a problem acquiring",
		"connection to exchange unavailable":                               "Connection to Microsoft Exchange",
		"Cannot sign into Lync. There was a problem verifying the certif…": "Cannot sign in to Lync. There was a problem verifying",
	} {
		got := MatchSymptoms(in)
		if len(got) == 0 || got[0].Message[:len(want)] != want {
			t.Errorf("MatchSymptoms(%q): first match %v, want %q", in, got, want)
		}
	}
	if got := MatchSymptoms("the"); got != nil {
		t.Errorf("a stop word alone matched %d messages", len(got))
	}
}
