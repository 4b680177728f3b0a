package lab

import (
	"strings"
	"time"

	"github.com/lynctrust/lynctrust/internal/lab/powershell"
)

// The Task Scheduler's COM interface, Schedule.Service (Task Scheduler 2.0,
// in Windows Vista, Server 2008 and later, so in every Windows a Lync
// server runs on): the subset that registers a one-shot task with a
// password, runs it and deletes it. RegisterTaskDefinition takes the
// password as an argument, so it never appears on a command line.
// Microsoft Learn: "TaskService object", "ITaskFolder::RegisterTaskDefinition"
// (TASK_CREATE_OR_UPDATE 6, TASK_LOGON_PASSWORD 1), "IRegisteredTask::Run",
// "ITaskFolder::DeleteTask".

const (
	taskCreate         = 2
	taskUpdate         = 4
	taskLogonPassword  = 1
	taskActionExec     = 0
	errLogonFailure    = "Logon failure: unknown user name or bad password. (Exception from HRESULT: 0x8007052E)"
	errFileNotFound    = "The system cannot find the file specified. (Exception from HRESULT: 0x80070002)"
	errAlreadyExists   = "Cannot create a file when that file already exists. (Exception from HRESULT: 0x800700B7)"
	errAccessDenied    = "Access is denied. (Exception from HRESULT: 0x80070005 (E_ACCESSDENIED))"
	errNotConnected    = "The Task Scheduler service is not connected: call Connect first. (Exception from HRESULT: 0x80041316)"
	errInvalidArgument = "The parameter is incorrect. (Exception from HRESULT: 0x80070057 (E_INVALIDARG))"
)

// comError is a COM method's failure as PowerShell reports it.
func comError(method string, n int, msg string) error {
	return powershell.Errorf("NotSpecified", "ComMethodTargetInvocation", "Exception calling \"%s\" with \"%d\" argument(s): \"%s\"", method, n, msg)
}

func (s *session) registerScheduler() {
	s.rt.ComObjects = map[string]func() (powershell.Value, error){"schedule.service": s.scheduleService}
}

// scheduleService is a TaskService object: Connect, GetFolder, NewTask.
func (s *session) scheduleService() (powershell.Value, error) {
	svc := powershell.NewObject("System.__ComObject").Set("Connected", false)
	// the definitions this object made, with their actions (the lab's
	// objects hold no Go values)
	defs := map[*powershell.Object]func() []*powershell.Object{}
	svc.Method("Connect", func(args []powershell.Value) (powershell.Value, error) {
		svc.Set("Connected", true)
		return nil, nil
	})
	connected := func() bool { v, _ := svc.Get("Connected"); return v == true }
	svc.Method("GetFolder", func(args []powershell.Value) (powershell.Value, error) {
		switch {
		case !connected():
			return nil, comError("GetFolder", len(args), errNotConnected)
		case len(args) != 1 || powershell.ToString(args[0]) != `\`:
			return nil, comError("GetFolder", len(args), errFileNotFound)
		}
		return s.taskFolder(defs), nil
	})
	svc.Method("NewTask", func(args []powershell.Value) (powershell.Value, error) {
		if !connected() {
			return nil, comError("NewTask", len(args), errNotConnected)
		}
		def, actions := newTaskDefinition()
		defs[def] = actions
		return def, nil
	})
	return svc, nil
}

// newTaskDefinition is an ITaskDefinition with its Principal, Settings and
// Actions.
func newTaskDefinition() (*powershell.Object, func() []*powershell.Object) {
	def := powershell.NewObject("System.__ComObject")
	def.Set("Principal", powershell.NewObject("System.__ComObject").Set("RunLevel", 0).Set("LogonType", 0).Set("UserId", ""))
	def.Set("Settings", powershell.NewObject("System.__ComObject").Set("Enabled", true))
	actions := powershell.NewObject("System.__ComObject").Set("Count", 0)
	var list []*powershell.Object
	actions.Method("Create", func(args []powershell.Value) (powershell.Value, error) {
		if len(args) != 1 || args[0] != taskActionExec {
			return nil, comError("Create", len(args), errInvalidArgument)
		}
		a := powershell.NewObject("System.__ComObject").Set("Type", taskActionExec).Set("Path", "").Set("Arguments", "").Set("WorkingDirectory", "")
		list = append(list, a)
		actions.Set("Count", len(list))
		return a, nil
	})
	def.Set("Actions", actions)
	return def, func() []*powershell.Object { return list }
}

// taskFolder is the root ITaskFolder: RegisterTaskDefinition, DeleteTask.
func (s *session) taskFolder(defs map[*powershell.Object]func() []*powershell.Object) *powershell.Object {
	f := powershell.NewObject("System.__ComObject").Set("Path", `\`).Set("Name", `\`)
	f.Method("RegisterTaskDefinition", func(args []powershell.Value) (powershell.Value, error) {
		return s.registerTaskDefinition(defs, args)
	})
	f.Method("DeleteTask", func(args []powershell.Value) (powershell.Value, error) {
		if len(args) != 2 {
			return nil, comError("DeleteTask", len(args), errInvalidArgument)
		}
		srv, name := s.srv, powershell.ToString(args[0])
		srv.taskMu.Lock()
		defer srv.taskMu.Unlock()
		if srv.tasks[strings.ToLower(name)] == nil {
			return nil, comError("DeleteTask", len(args), errFileNotFound)
		}
		delete(srv.tasks, strings.ToLower(name))
		return nil, nil
	})
	return f
}

// registerTaskDefinition is RegisterTaskDefinition(path, definition, flags,
// user, password, logonType). With TASK_LOGON_PASSWORD the password is
// checked as Windows does when it stores it.
func (s *session) registerTaskDefinition(defs map[*powershell.Object]func() []*powershell.Object, args []powershell.Value) (powershell.Value, error) {
	const method = "RegisterTaskDefinition"
	if len(args) != 6 {
		return nil, comError(method, len(args), errInvalidArgument)
	}
	name := powershell.ToString(args[0])
	def, _ := args[1].(*powershell.Object)
	flags, _ := args[2].(int)
	logon, _ := args[5].(int)
	srv := s.srv
	srv.taskMu.Lock()
	defer srv.taskMu.Unlock()
	actions := defs[def]
	if def == nil || actions == nil || len(actions()) != 1 || name == "" || logon != taskLogonPassword {
		return nil, comError(method, 6, errInvalidArgument)
	}
	if !inGroup(s.acct, GroupAdministrators) {
		return nil, comError(method, 6, errAccessDenied)
	}
	user, domain := splitUser(powershell.ToString(args[3]))
	acct := s.d.Lookup(user, domain)
	if acct == nil || acct.Password != powershell.ToString(args[4]) {
		return nil, comError(method, 6, errLogonFailure)
	}
	if srv.tasks == nil {
		srv.tasks = map[string]*task{}
	}
	if _, exists := srv.tasks[strings.ToLower(name)]; exists && flags&taskUpdate == 0 || !exists && flags&taskCreate == 0 {
		return nil, comError(method, 6, errAlreadyExists)
	}
	path, _ := actions()[0].Get("Path")
	argv, _ := actions()[0].Get("Arguments")
	action := `"` + powershell.ToString(path) + `"`
	if a := powershell.ToString(argv); a != "" {
		action += " " + a
	}
	t := &task{name: name, action: action, account: acct}
	srv.tasks[strings.ToLower(name)] = t
	reg := powershell.NewObject("System.__ComObject").Set("Name", name).Set("Path", `\`+name)
	reg.Method("Run", func(args []powershell.Value) (powershell.Value, error) {
		go func() {
			time.Sleep(taskStartDelay)
			t.mu.Lock()
			t.running = true
			t.mu.Unlock()
			s.d.runTask(srv, t)
		}()
		return powershell.NewObject("System.__ComObject").Set("Name", name), nil
	})
	return reg, nil
}
