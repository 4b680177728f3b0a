package lync_test

import (
	"strings"
	"testing"

	"github.com/lynctrust/lynctrust/lync"
	"github.com/lynctrust/lynctrust/psremote"
)

// A script too long for cmd.exe's 8,191 characters travels in the shell's
// environment, never on standard input: the command line stays short.
func TestLongScriptsTravelInTheEnvironment(t *testing.T) {
	for name, script := range lync.AllScripts() {
		cmd, env, err := psremote.CommandLine(script)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if len(cmd) > 8191 {
			t.Errorf("%s: command line of %d characters", name, len(cmd))
		}
		held := env == nil
		for _, v := range env {
			held = held || v == strings.TrimSpace(script)
		}
		if !held {
			t.Errorf("%s: the environment does not hold the script", name)
		}
	}
}
