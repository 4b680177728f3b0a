package lab

import (
	"sync"
	"sync/atomic"
	"time"
)

// Counters count what one simulated server did; tests and benchmarks read them.
type Counters struct {
	Requests      atomic.Int64 // HTTP requests, handshakes included
	Handshakes    atomic.Int64 // requests spent only on signing in (NTLM's NEGOTIATE, and AUTHENTICATE in an empty POST)
	Shells        atomic.Int64 // shells created
	Commands      atomic.Int64 // commands started
	ModuleImports atomic.Int64 // Import-Module Lync / SkypeForBusiness that loaded
	Writes        atomic.Int64 // changes to the Central Management Store or a certificate store
}

// CountersSnapshot is a plain copy of Counters.
type CountersSnapshot struct {
	Requests      int64 `json:"requests"`
	Handshakes    int64 `json:"handshakes"`
	Shells        int64 `json:"shells"`
	Commands      int64 `json:"commands"`
	ModuleImports int64 `json:"module_imports"`
	Writes        int64 `json:"writes"`
}

// Snapshot copies the counters.
func (c *Counters) Snapshot() CountersSnapshot {
	return CountersSnapshot{c.Requests.Load(), c.Handshakes.Load(), c.Shells.Load(), c.Commands.Load(), c.ModuleImports.Load(), c.Writes.Load()}
}

// Reset zeroes the counters.
func (c *Counters) Reset() {
	c.Requests.Store(0)
	c.Handshakes.Store(0)
	c.Shells.Store(0)
	c.Commands.Store(0)
	c.ModuleImports.Store(0)
	c.Writes.Store(0)
}

// WS-Man steps at which a fault can be injected.
const (
	StepCreate  = "Create"
	StepCommand = "Command"
	StepSend    = "Send"
	StepReceive = "Receive"
	StepSignal  = "Signal"
	StepDelete  = "Delete"
)

// Fault kinds.
const (
	FaultDrop         = "drop"           // the connection is closed without an answer
	Fault401          = "401"            // HTTP 401, as for a bad password
	Fault500          = "500"            // a WS-Man InternalError fault
	FaultTimeout      = "timeout"        // Receive never completes: every poll gets w:TimedOut
	FaultCmdlet       = "cmdlet-error"   // the next Lync cmdlet that writes throws
	FaultConcurrent   = "concurrent"     // someone changes TrustedCACerts between a script's read and its write
	FaultSQLDoubleHop = "sql-double-hop" // (Enterprise Edition) writes fail as the second hop to SQL does
)

// Knobs are the lab's controls: latency, the Import-Module cost, and faults.
// They are safe to change while the lab runs.
type Knobs struct {
	mu           sync.Mutex
	latency      time.Duration
	importCost   time.Duration
	faults       map[string]int // kind/step -> remaining count (-1: forever)
	skips        map[string]int // kind/step -> occurrences to let pass first
	at           map[string]int // kind/step -> only during the server's N-th command
	clockSkew    time.Duration
	replicaDelay time.Duration
	tls12        atomic.Bool // SChannel TLS 1.2 on the 2008 R2 servers (schannel.go)
	culture      string
}

// SetCulture sets the servers' culture (en-US, de-DE, fi-FI): how dates
// are formatted and the words schtasks prints.
func (k *Knobs) SetCulture(name string) { k.mu.Lock(); k.culture = name; k.mu.Unlock() }

// Culture is the servers' culture, "" for en-US.
func (k *Knobs) Culture() string { k.mu.Lock(); defer k.mu.Unlock(); return k.culture }

// SetLatency makes every HTTP request a round trip of d: handled d/2 after
// it arrives, answered d after it arrived plus what it waited for on the
// server (WinRM.ServeHTTP).
func (k *Knobs) SetLatency(d time.Duration) { k.mu.Lock(); k.latency = d; k.mu.Unlock() }

// Latency is the per-request delay.
func (k *Knobs) Latency() time.Duration { k.mu.Lock(); defer k.mu.Unlock(); return k.latency }

// SetImportCost makes Import-Module take d.
func (k *Knobs) SetImportCost(d time.Duration) { k.mu.Lock(); k.importCost = d; k.mu.Unlock() }

// ImportCost is what Import-Module takes.
func (k *Knobs) ImportCost() time.Duration { k.mu.Lock(); defer k.mu.Unlock(); return k.importCost }

// SetClockSkew shifts the HTTP Date headers of the Front Ends' web services.
func (k *Knobs) SetClockSkew(d time.Duration) { k.mu.Lock(); k.clockSkew = d; k.mu.Unlock() }

// ClockSkew is the Front Ends' clock offset.
func (k *Knobs) ClockSkew() time.Duration { k.mu.Lock(); defer k.mu.Unlock(); return k.clockSkew }

// SetReplicationDelay is how long a CMS change takes to reach each replica.
func (k *Knobs) SetReplicationDelay(d time.Duration) { k.mu.Lock(); k.replicaDelay = d; k.mu.Unlock() }

// ReplicationDelay is the CMS replication delay.
func (k *Knobs) ReplicationDelay() time.Duration {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.replicaDelay
}

// Inject arms a fault n times (-1: until cleared). For drop, 401 and 500 the
// key is kind+":"+step (e.g. "drop:Receive", "500:Create", "401:" for any
// request); the others take the kind alone.
func (k *Knobs) Inject(key string, n int) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.faults == nil {
		k.faults = map[string]int{}
	}
	k.faults[key] = n
}

// InjectAfter arms a fault that lets the first skip occurrences pass: to
// fail a write, not the read before it.
func (k *Knobs) InjectAfter(key string, skip, n int) {
	k.Inject(key, n)
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.skips == nil {
		k.skips = map[string]int{}
	}
	k.skips[key] = skip
}

// InjectAt arms a WS-Man fault for the given step of a server's n-th
// command (counting from 1): to fail the write, whatever the read before it did.
func (k *Knobs) InjectAt(key string, command int) {
	k.Inject(key, 1)
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.at == nil {
		k.at = map[string]int{}
	}
	k.at[key] = command
}

// ClearFaults disarms every fault.
func (k *Knobs) ClearFaults() { k.mu.Lock(); k.faults, k.skips, k.at = nil, nil, nil; k.mu.Unlock() }

// takeAt is take for a WS-Man step during the server's command number ord.
func (k *Knobs) takeAt(key string, ord int64) bool {
	k.mu.Lock()
	want, ok := k.at[key]
	k.mu.Unlock()
	if ok && int64(want) != ord {
		return false
	}
	return k.take(key)
}

// take reports whether the fault is armed, and uses one shot of it.
func (k *Knobs) take(key string) bool {
	k.mu.Lock()
	defer k.mu.Unlock()
	n, ok := k.faults[key]
	if !ok || n == 0 {
		return false
	}
	if k.skips[key] > 0 {
		k.skips[key]--
		return false
	}
	if n > 0 {
		k.faults[key] = n - 1
	}
	return true
}

// armed reports whether a fault is armed, without using it.
func (k *Knobs) armed(key string) bool {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.faults[key] != 0
}
