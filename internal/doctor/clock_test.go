package doctor

import (
	"testing"
	"time"
)

// The Date header counts whole seconds, so a server whose clock agrees with
// ours to the nanosecond can still send a Date up to a second behind: that
// must read as in sync, and a real skew must still be seen.
func TestSkewOfDateResolution(t *testing.T) {
	base := time.Date(2026, 12, 2, 6, 0, 0, 0, time.UTC)
	tests := []struct {
		name          string
		server        time.Time // the server's true time at the middle of the request
		before, after time.Time
		inSync        bool
		rounded       time.Duration
	}{
		{"same clock, early in the second", base.Add(10 * time.Millisecond), base.Add(5 * time.Millisecond), base.Add(15 * time.Millisecond), true, 0},
		{"same clock, late in the second", base.Add(999 * time.Millisecond), base.Add(990 * time.Millisecond), base.Add(1008 * time.Millisecond), true, 0},
		{"same clock, request across a second", base.Add(1001 * time.Millisecond), base.Add(995 * time.Millisecond), base.Add(1007 * time.Millisecond), true, 0},
		{"server ten minutes ahead", base.Add(10*time.Minute + 400*time.Millisecond), base.Add(400 * time.Millisecond), base.Add(400 * time.Millisecond), false, 10 * time.Minute},
		{"server three seconds behind", base.Add(-3*time.Second + 700*time.Millisecond), base.Add(700 * time.Millisecond), base.Add(700 * time.Millisecond), false, -3 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			date := tt.server.Truncate(time.Second) // what the Date header carries
			skew := skewOf(date, tt.before, tt.after)
			inSync := skew >= -DateResolution && skew <= DateResolution
			if inSync != tt.inSync {
				t.Fatalf("skew %v: in sync = %v, want %v", skew, inSync, tt.inSync)
			}
			if !tt.inSync && skew.Round(time.Second) != tt.rounded {
				t.Fatalf("skew %v rounds to %v, want %v", skew, skew.Round(time.Second), tt.rounded)
			}
		})
	}
}

// Every sub-second phase of a server in step with us must read as in sync.
func TestSkewOfInStepAtEveryPhase(t *testing.T) {
	base := time.Date(2026, 12, 2, 6, 0, 0, 0, time.UTC)
	for ms := 0; ms < 2000; ms += 7 {
		now := base.Add(time.Duration(ms) * time.Millisecond)
		before, after := now.Add(-20*time.Millisecond), now.Add(20*time.Millisecond)
		if s := skewOf(now.Truncate(time.Second), before, after); s < -DateResolution || s > DateResolution {
			t.Fatalf("at +%dms an in-step server reads %v off", ms, s)
		}
	}
}
