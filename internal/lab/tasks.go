package lab

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/lynctrust/lynctrust/internal/lab/powershell"
)

// The remedy for the Enterprise Edition double hop: a one-shot scheduled
// task that runs under the administrator's own credentials (a batch logon
// holds them, so the Lync cmdlets reach the SQL back end), as Packer's
// elevated WinRM commands do. The lab emulates schtasks.exe, which Windows
// Server 2008 R2 and later all have, and the files a script writes.

// task is a registered scheduled task.
type task struct {
	name    string
	action  string
	account *Account
	mu      sync.Mutex
	running bool
	ran     bool
}

// fileSystem is a server's files, for the few a script writes and reads.
type fileSystem struct {
	mu    sync.Mutex
	files map[string]string // lower-case path -> content
}

func (f *fileSystem) write(path, content string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.files == nil {
		f.files = map[string]string{}
	}
	f.files[strings.ToLower(path)] = content
}

func (f *fileSystem) read(path string) (string, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	c, ok := f.files[strings.ToLower(path)]
	return c, ok
}

func (f *fileSystem) remove(path string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	_, ok := f.files[strings.ToLower(path)]
	delete(f.files, strings.ToLower(path))
	return ok
}

// Files lists the files a server holds now, for tests that check nothing is left behind.
func (s *Server) Files() []string {
	s.fs.mu.Lock()
	defer s.fs.mu.Unlock()
	var out []string
	for p := range s.fs.files {
		out = append(out, p)
	}
	return out
}

// Tasks lists the scheduled tasks registered on a server now.
func (s *Server) Tasks() []string {
	s.taskMu.Lock()
	defer s.taskMu.Unlock()
	var out []string
	for n := range s.tasks {
		out = append(out, n)
	}
	return out
}

func (s *session) fileCmdlets() []*powershell.Cmdlet {
	fs := &s.srv.fs
	return []*powershell.Cmdlet{
		{Name: "Set-Content", Params: []string{"Path", "Value", "Encoding", "Force"}, Switches: []string{"Force"}, Positional: []string{"Path", "Value"},
			Run: func(c *powershell.Call) ([]powershell.Value, error) {
				var lines []string
				for _, v := range enumerateList(c.Get("Value")) {
					lines = append(lines, powershell.ToString(v))
				}
				fs.write(c.String("Path"), strings.Join(lines, "\r\n")+"\r\n")
				return nil, nil
			}},
		{Name: "Get-Content", Params: []string{"Path"}, Positional: []string{"Path"},
			Run: func(c *powershell.Call) ([]powershell.Value, error) {
				content, ok := fs.read(c.String("Path"))
				if !ok {
					return nil, &powershell.Error{Message: fmt.Sprintf("Cannot find path '%s' because it does not exist.", c.String("Path")),
						Category: "ObjectNotFound", FQID: "PathNotFound,Microsoft.PowerShell.Commands.GetContentCommand"}
				}
				var out []powershell.Value
				for _, l := range strings.Split(strings.TrimRight(strings.ReplaceAll(content, "\r\n", "\n"), "\n"), "\n") {
					out = append(out, l)
				}
				return out, nil
			}},
		{Name: "Remove-Item", Params: []string{"Path", "Force"}, Switches: []string{"Force"}, Positional: []string{"Path"},
			Run: func(c *powershell.Call) ([]powershell.Value, error) {
				for _, p := range enumerateList(c.Get("Path")) {
					if !fs.remove(powershell.ToString(p)) {
						return nil, &powershell.Error{Message: fmt.Sprintf("Cannot find path '%s' because it does not exist.", powershell.ToString(p)),
							Category: "ObjectNotFound", FQID: "PathNotFound,Microsoft.PowerShell.Commands.RemoveItemCommand"}
					}
				}
				return nil, nil
			}},
		{Name: "schtasks.exe", Native: true, Run: s.schtasks},
		{Name: "schtasks", Native: true, Run: s.schtasks},
	}
}

// maxTaskRun is the longest /TR schtasks accepts ("Value for '/tr' option
// cannot be more than 261 character(s)"; winrm-facts §10).
const maxTaskRun = 261

// taskStartDelay is how long a task takes after /Run to show as running:
// the Task Scheduler service starts it asynchronously.
const taskStartDelay = 300 * time.Millisecond

// schtasks emulates the parts of schtasks.exe a script uses: /Create (with
// /RU and /RP: the password is checked as Windows does when it stores it),
// /Run, /Query /FO CSV, /Delete. Errors and warnings go to standard error,
// the status words are the server's language.
func (s *session) schtasks(c *powershell.Call) ([]powershell.Value, error) {
	args := map[string]string{}
	var verb string
	for i := 0; i < len(c.Args); i++ {
		a := c.Args[i]
		switch strings.ToLower(a) {
		case "/create", "/run", "/query", "/delete":
			verb = strings.ToLower(a)
		case "/f", "/nh":
			args[strings.ToLower(a)] = "yes"
		default:
			if strings.HasPrefix(a, "/") && i+1 < len(c.Args) {
				args[strings.ToLower(a)] = c.Args[i+1]
				i++
			}
		}
	}
	srv := s.srv
	name := args["/tn"]
	fail := func(msg string) ([]powershell.Value, error) {
		c.Stderr = append(c.Stderr, "ERROR: "+msg)
		return nil, powershell.ExitCode(1)
	}
	srv.taskMu.Lock()
	defer srv.taskMu.Unlock()
	if srv.tasks == nil {
		srv.tasks = map[string]*task{}
	}
	switch verb {
	case "/create":
		return s.createTask(c, args, fail)
	case "/run":
		t := srv.tasks[strings.ToLower(name)]
		if t == nil {
			return fail("The system cannot find the file specified.")
		}
		go func() {
			time.Sleep(taskStartDelay)
			t.mu.Lock()
			t.running = true
			t.mu.Unlock()
			s.d.runTask(srv, t)
		}()
		return []powershell.Value{fmt.Sprintf("SUCCESS: Attempted to run the scheduled task \"%s\".", name)}, nil
	case "/query":
		t := srv.tasks[strings.ToLower(name)]
		if t == nil {
			return fail("The system cannot find the file specified.")
		}
		cu := s.culture()
		t.mu.Lock()
		status := cu.Ready
		if t.running {
			status = cu.Running
		}
		t.mu.Unlock()
		return []powershell.Value{fmt.Sprintf("\"\\%s\",\"N/A\",\"%s\"", name, status)}, nil
	case "/delete":
		if srv.tasks[strings.ToLower(name)] == nil {
			return fail("The system cannot find the file specified.")
		}
		delete(srv.tasks, strings.ToLower(name))
		return []powershell.Value{fmt.Sprintf("SUCCESS: The scheduled task \"%s\" was successfully deleted.", name)}, nil
	}
	return fail("Invalid syntax. Type \"SCHTASKS /?\" for usage.")
}

// createTask is schtasks /Create; the caller holds the server's task lock.
func (s *session) createTask(c *powershell.Call, args map[string]string, fail func(string) ([]powershell.Value, error)) ([]powershell.Value, error) {
	srv, name := s.srv, args["/tn"]
	if len(args["/tr"]) > maxTaskRun {
		return fail(fmt.Sprintf("Invalid syntax. Value for '/tr' option cannot be more than %d character(s).", maxTaskRun))
	}
	if !inGroup(s.acct, GroupAdministrators) {
		return fail("Access is denied.")
	}
	user, domain := splitUser(args["/ru"])
	acct := s.d.Lookup(user, domain)
	if acct == nil || acct.Password != args["/rp"] {
		return fail("The user name or password is incorrect.")
	}
	if _, exists := srv.tasks[strings.ToLower(name)]; exists && args["/f"] == "" {
		return fail("Cannot create a file when that file already exists.")
	}
	if st, err := time.Parse("15:04", args["/st"]); err == nil {
		now := s.d.now()
		if st.Hour()*60+st.Minute() < now.Hour()*60+now.Minute() {
			c.Stderr = append(c.Stderr, "WARNING: Task may not run because /ST is earlier than current time.")
		}
	}
	srv.tasks[strings.ToLower(name)] = &task{name: name, action: args["/tr"], account: acct}
	return []powershell.Value{fmt.Sprintf("SUCCESS: The scheduled task \"%s\" has successfully been created.", name)}, nil
}

// runTask runs a task's action under the task's account, from a batch logon
// (credentials held: no double hop). The action is a batch file, whose lines
// the lab runs as cmd.exe would (powershell.exe … -File "F" > "OUT" 2>&1,
// ren), or one such command line.
func (d *Deployment) runTask(srv *Server, t *task) {
	defer func() {
		t.mu.Lock()
		t.running, t.ran = false, true
		t.mu.Unlock()
	}()
	words := splitCommandLine(t.action)
	if len(words) == 1 && (strings.HasSuffix(strings.ToLower(words[0]), ".cmd") || strings.HasSuffix(strings.ToLower(words[0]), ".bat")) {
		// The Task Scheduler starts a batch file through cmd.exe.
		srv.audit.add(AuditProcess, `C:\Windows\system32\cmd.exe /c "`+words[0]+`"`)
		batch, ok := srv.fs.read(words[0])
		if !ok {
			return
		}
		for _, line := range strings.Split(strings.ReplaceAll(batch, "\r\n", "\n"), "\n") {
			d.runCmdLine(srv, t, strings.TrimPrefix(strings.TrimSpace(line), "@"))
		}
		return
	}
	d.runCmdLine(srv, t, t.action)
}

// runCmdLine runs one line of a task's action: powershell.exe with -File and
// its output redirected to a file, or ren.
func (d *Deployment) runCmdLine(srv *Server, t *task, line string) {
	words := splitCommandLine(line)
	if len(words) >= 2 && (strings.EqualFold(words[0], "cmd") || strings.EqualFold(words[0], "cmd.exe")) && strings.EqualFold(words[1], "/c") {
		words = words[2:]
	}
	if len(words) == 0 {
		return
	}
	if strings.EqualFold(words[0], "ren") && len(words) == 3 {
		from := words[1]
		content, ok := srv.fs.read(from)
		if ok && !strings.ContainsAny(words[2], `\/:`) {
			srv.fs.remove(from)
			srv.fs.write(from[:strings.LastIndex(from, `\`)+1]+words[2], content)
		}
		return
	}
	srv.audit.add(AuditProcess, line)
	var file, out string
	for i, w := range words {
		switch {
		case strings.EqualFold(w, "-File") && i+1 < len(words):
			file = words[i+1]
		case w == ">" && i+1 < len(words):
			out = words[i+1]
		}
	}
	script, ok := srv.fs.read(file)
	if file == "" || !ok {
		if out != "" {
			srv.fs.write(out, "The argument '"+file+"' to the -File parameter does not exist.\r\n")
		}
		return
	}
	var buf bytes.Buffer
	d.powershellAs(context.Background(), srv, t.account, false, []string{"-NoProfile", "-NonInteractive", "-Command", script}, strings.NewReader(""), &buf, &buf)
	if out != "" {
		srv.fs.write(out, buf.String())
	}
}
