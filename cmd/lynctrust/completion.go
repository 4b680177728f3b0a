package main

import (
	"fmt"
	"sort"
	"strings"

	tlab "github.com/lynctrust/lynctrust/internal/lab/exchange"
	"github.com/urfave/cli/v2"
)

func completionCommand(g *globals) *cli.Command {
	return &cli.Command{
		Name:      "completion",
		Usage:     "print a shell completion script: bash, zsh or powershell",
		ArgsUsage: "bash|zsh|powershell",
		Description: `EXAMPLES:
   $ source <(lynctrust completion bash)
   $ lynctrust completion zsh > "${fpath[1]}/_lynctrust"
   PS> lynctrust completion powershell | Out-String | Invoke-Expression
   PS> lynctrust completion powershell >> $PROFILE`,
		Action: func(c *cli.Context) error {
			words, values := completionWords(c.App), flagValues()
			switch c.Args().First() {
			case "bash":
				fmt.Fprint(g.stdout, bashCompletion(words, values))
			case "zsh":
				fmt.Fprint(g.stdout, zshCompletion(words, values))
			case "powershell", "pwsh":
				fmt.Fprint(g.stdout, powershellCompletion(words, values))
			default:
				return usageErrorf("completion: want bash, zsh or powershell")
			}
			return nil
		},
	}
}

// commandArgs are the arguments a command takes from a fixed list: offered
// before its flags.
var commandArgs = map[string][]string{"completion": {"bash", "zsh", "powershell"}}

// flagValues are the values of the flags that take one from a fixed list.
func flagValues() map[string][]string {
	var scenarios []string
	for _, s := range tlab.Scenarios() {
		scenarios = append(scenarios, string(s))
	}
	return map[string][]string{
		"--output":   outputFormats,
		"-o":         outputFormats,
		"--auth":     {"ntlm", "kerberos", "basic", "certificate"},
		"--ca-store": {"TrustedRootCA", "IntermediateCA", "ThirdPartyRootCA"},
		"--product":  {"2010", "2013", "2015", "2019"},
		"--edition":  {"standard", "enterprise"},
		"--culture":  {"en-US", "de-DE", "fi-FI"},
		"--scenario": scenarios,
	}
}

// completionWords maps "" (top level) and each command path ("explain",
// "explain tls-alert") to the words that can follow it: its subcommands, or
// its arguments and flags. urfave/cli's help subcommands are left out.
func completionWords(app *cli.App) map[string][]string {
	out := map[string][]string{}
	flagNames := func(fs []cli.Flag) []string {
		var ns []string
		for _, f := range fs {
			for _, n := range f.Names() {
				if len(n) > 1 && n != "help" {
					ns = append(ns, "--"+n)
				}
			}
		}
		return ns
	}
	var walk func(prefix string, cmds []*cli.Command)
	walk = func(prefix string, cmds []*cli.Command) {
		for _, c := range cmds {
			if c.Hidden || c.Name == "help" {
				continue
			}
			key := strings.TrimSpace(prefix + " " + c.Name)
			out[prefix] = append(out[prefix], c.Name)
			if !hasSubcommands(c) {
				flags := flagNames(c.Flags)
				sort.Strings(flags)
				out[key] = append(append([]string{}, commandArgs[key]...), flags...)
			}
			walk(key, c.Subcommands) // adds the subcommands' names to out[key]
		}
	}
	out[""] = flagNames(app.Flags)
	walk("", app.Commands)
	for k := range out {
		if len(commandArgs[k]) == 0 {
			sort.Strings(out[k])
		}
	}
	return out
}

func hasSubcommands(c *cli.Command) bool {
	for _, s := range c.Subcommands {
		if s.Name != "help" {
			return true
		}
	}
	return false
}

func sortedKeys(m map[string][]string) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

func bashCompletion(words, values map[string][]string) string {
	var b strings.Builder
	b.WriteString("# bash completion for lynctrust\n_lynctrust() {\n  local cur prev path w\n  cur=${COMP_WORDS[COMP_CWORD]}\n  prev=${COMP_WORDS[COMP_CWORD-1]}\n  path=\n")
	b.WriteString("  w=$(_lynctrust_values \"$prev\")\n  if [ -n \"$w\" ]; then COMPREPLY=($(compgen -W \"$w\" -- \"$cur\")); return; fi\n")
	b.WriteString("  for w in \"${COMP_WORDS[@]:1:COMP_CWORD-1}\"; do\n    case \"$w\" in -*) ;; *) [ -n \"$(_lynctrust_words \"${path:+$path }$w\")\" ] && path=\"${path:+$path }$w\";; esac\n  done\n")
	b.WriteString("  COMPREPLY=($(compgen -W \"$(_lynctrust_words \"$path\")\" -- \"$cur\"))\n}\n_lynctrust_words() {\n  case \"$1\" in\n")
	for _, k := range sortedKeys(words) {
		fmt.Fprintf(&b, "    %q) echo %q;;\n", k, strings.Join(words[k], " "))
	}
	b.WriteString("  esac\n}\n_lynctrust_values() {\n  case \"$1\" in\n")
	for _, k := range sortedKeys(values) {
		fmt.Fprintf(&b, "    %q) echo %q;;\n", k, strings.Join(values[k], " "))
	}
	b.WriteString("  esac\n}\ncomplete -F _lynctrust lynctrust\n")
	return b.String()
}

func zshCompletion(words, values map[string][]string) string {
	return "#compdef lynctrust\n# zsh completion for lynctrust\nautoload -U +X bashcompinit && bashcompinit\n" + bashCompletion(words, values)
}

func powershellCompletion(words, values map[string][]string) string {
	var b strings.Builder
	b.WriteString("# PowerShell completion for lynctrust: lynctrust completion powershell | Out-String | Invoke-Expression\n")
	for _, table := range []struct {
		name string
		m    map[string][]string
	}{{"lynctrustWords", words}, {"lynctrustValues", values}} {
		fmt.Fprintf(&b, "$%s = @{\n", table.name)
		for _, k := range sortedKeys(table.m) {
			fmt.Fprintf(&b, "    '%s' = @(%s)\n", k, "'"+strings.Join(table.m[k], "', '")+"'")
		}
		b.WriteString("}\n")
	}
	b.WriteString(`Register-ArgumentCompleter -Native -CommandName lynctrust, lynctrust.exe -ScriptBlock {
    param($wordToComplete, $commandAst, $cursorPosition)
    $path = ''
    $prev = ''
    foreach ($element in $commandAst.CommandElements | Select-Object -Skip 1) {
        if ($element.Extent.StartOffset -ge $cursorPosition) { break }
        $text = $element.ToString()
        if ($text -eq $wordToComplete -and $element.Extent.EndOffset -eq $cursorPosition) { break }
        if (-not $text.StartsWith('-')) {
            $next = ($path + ' ' + $text).Trim()
            if ($lynctrustWords.ContainsKey($next)) { $path = $next }
        }
        $prev = $text
    }
    $candidates = $lynctrustWords[$path]
    if ($lynctrustValues.ContainsKey($prev)) { $candidates = $lynctrustValues[$prev] }
    $candidates | Where-Object { $_ -like ($wordToComplete + '*') } | ForEach-Object {
        [System.Management.Automation.CompletionResult]::new($_, $_, 'ParameterValue', $_)
    }
}
`)
	return b.String()
}
