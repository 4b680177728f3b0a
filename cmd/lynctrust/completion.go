package main

import (
	"fmt"
	"sort"
	"strings"

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
			words := completionWords(c.App)
			switch c.Args().First() {
			case "bash":
				fmt.Fprint(g.stdout, bashCompletion(words))
			case "zsh":
				fmt.Fprint(g.stdout, zshCompletion(words))
			case "powershell", "pwsh":
				fmt.Fprint(g.stdout, powershellCompletion(words))
			default:
				return usageErrorf("completion: want bash, zsh or powershell")
			}
			return nil
		},
	}
}

// completionWords maps "" (top level) and each command path ("explain",
// "explain tls-alert") to the words that can follow it.
func completionWords(app *cli.App) map[string][]string {
	out := map[string][]string{}
	flagNames := func(fs []cli.Flag) []string {
		var ns []string
		for _, f := range fs {
			for _, n := range f.Names() {
				if len(n) > 1 {
					ns = append(ns, "--"+n)
				}
			}
		}
		return ns
	}
	var walk func(prefix string, cmds []*cli.Command)
	walk = func(prefix string, cmds []*cli.Command) {
		for _, c := range cmds {
			if c.Hidden {
				continue
			}
			key := strings.TrimSpace(prefix + " " + c.Name)
			out[prefix] = append(out[prefix], c.Name)
			if len(c.Subcommands) == 0 {
				out[key] = append(out[key], flagNames(c.Flags)...)
			}
			walk(key, c.Subcommands) // adds the subcommands' names to out[key]
		}
	}
	out[""] = flagNames(app.Flags)
	walk("", app.Commands)
	for k := range out {
		sort.Strings(out[k])
	}
	return out
}

func sortedKeys(m map[string][]string) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

func bashCompletion(words map[string][]string) string {
	var b strings.Builder
	b.WriteString("# bash completion for lynctrust\n_lynctrust() {\n  local cur path w\n  cur=${COMP_WORDS[COMP_CWORD]}\n  path=\n")
	b.WriteString("  for w in \"${COMP_WORDS[@]:1:COMP_CWORD-1}\"; do\n    case \"$w\" in -*) ;; *) [ -n \"$(_lynctrust_words \"${path:+$path }$w\")\" ] && path=\"${path:+$path }$w\";; esac\n  done\n")
	b.WriteString("  COMPREPLY=($(compgen -W \"$(_lynctrust_words \"$path\")\" -- \"$cur\"))\n}\n_lynctrust_words() {\n  case \"$1\" in\n")
	for _, k := range sortedKeys(words) {
		fmt.Fprintf(&b, "    %q) echo %q;;\n", k, strings.Join(words[k], " "))
	}
	b.WriteString("  esac\n}\ncomplete -F _lynctrust lynctrust\n")
	return b.String()
}

func zshCompletion(words map[string][]string) string {
	return "#compdef lynctrust\n# zsh completion for lynctrust\nautoload -U +X bashcompinit && bashcompinit\n" + bashCompletion(words)
}

func powershellCompletion(words map[string][]string) string {
	var b strings.Builder
	b.WriteString("# PowerShell completion for lynctrust: lynctrust completion powershell | Out-String | Invoke-Expression\n")
	b.WriteString("$lynctrustWords = @{\n")
	for _, k := range sortedKeys(words) {
		fmt.Fprintf(&b, "    '%s' = @(%s)\n", k, "'"+strings.Join(words[k], "', '")+"'")
	}
	b.WriteString("}\n")
	b.WriteString(`Register-ArgumentCompleter -Native -CommandName lynctrust, lynctrust.exe -ScriptBlock {
    param($wordToComplete, $commandAst, $cursorPosition)
    $path = ''
    foreach ($element in $commandAst.CommandElements | Select-Object -Skip 1) {
        $text = $element.ToString()
        if ($text -eq $wordToComplete) { break }
        if (-not $text.StartsWith('-')) {
            $next = ($path + ' ' + $text).Trim()
            if ($lynctrustWords.ContainsKey($next)) { $path = $next }
        }
    }
    $lynctrustWords[$path] | Where-Object { $_ -like ($wordToComplete + '*') } | ForEach-Object {
        [System.Management.Automation.CompletionResult]::new($_, $_, 'ParameterValue', $_)
    }
}
`)
	return b.String()
}
