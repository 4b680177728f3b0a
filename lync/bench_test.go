package lync_test

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/lynctrust/lynctrust/internal/lab"
	"github.com/lynctrust/lynctrust/lync"
)

// BenchmarkAuditFleet audits an Enterprise Edition pool of 1, of 50 and of
// 200 Front Ends on the lab with 100 ms of latency per request and a 1 s
// Import-Module, with --parallel 50 and 200 (one wave of store checks), in
// the same run, and reports the ratios of the wall times to one Front End's
// (the targets: 1.3 and 2). Each wall time is the median of five audits of
// the same lab: a single audit of one Front End varies by tens of
// milliseconds on a shared machine, which is a ratio's second decimal.
//
// Beside them, what 50 Front Ends take over their floor, and what the same
// exchange takes over the same floor without lynctrust, WinRM or the lab
// (bareWave): the checks of the other 49 servers start when the first
// server's topology arrives, one request before its end, and each is 5
// requests, so 50 Front Ends cannot take less than one plus 4 latencies.
//
//	go test ./lync -run '^$' -bench AuditFleet -benchtime 1x
func BenchmarkAuditFleet(b *testing.B) {
	const audits = 5
	audit := func(n, parallel int) time.Duration {
		opts := lab.Options{Edition: "enterprise", FrontEnds: n}
		l, err := lab.Start(opts)
		if err != nil {
			b.Fatal(err)
		}
		defer l.Close()
		c := conn(l, l.Info.Servers[0].FQDN, "lyncadmin")
		root := lync.Entry{Thumbprint: must(lync.ParseThumbprint(l.Info.ExchangeRootThumbprint)), CAStore: lync.TrustedRootCA}
		// Something to look for on every server: the root, trusted in the
		// global collection, written as if from the server that holds the
		// store (from a Front End, a write meets the Enterprise Edition
		// double hop).
		cms := l.Deployment.CMSHost
		l.Deployment.CMSHost = l.Info.Servers[0].FQDN
		if _, err := lync.Apply(context.Background(), c, []lync.Change{{Identity: "Global", Action: lync.Add, Entries: []lync.Entry{root}}}); err != nil {
			b.Fatal(err)
		}
		l.Deployment.CMSHost = cms
		l.Knobs.SetLatency(100 * time.Millisecond)
		l.Knobs.SetImportCost(time.Second)
		var took []time.Duration
		for range audits {
			start := time.Now()
			r, err := lync.Audit(context.Background(), c, lync.AuditOptions{Parallel: parallel})
			if err != nil {
				b.Fatal(err)
			}
			took = append(took, time.Since(start))
			if len(r.Stores) != n {
				b.Fatalf("%d servers audited, want %d", len(r.Stores), n)
			}
		}
		return median(took)
	}
	for i := 0; i < b.N; i++ {
		one := audit(1, 1)
		fifty := audit(50, 50)
		twoHundred := audit(200, 200)
		bare := bareWave(b, 49, 5, 100*time.Millisecond)
		floor := one + 4*100*time.Millisecond
		b.ReportMetric(float64((fifty-floor).Microseconds())/1000, "ms/50-FE-over-floor")
		b.ReportMetric(float64(bare.Microseconds())/1000, "ms/bare-over-floor")
		b.ReportMetric((floor+bare).Seconds()/one.Seconds(), "ratio-bare")
		b.ReportMetric(one.Seconds(), "s/1-FE")
		b.ReportMetric(fifty.Seconds(), "s/50-FE")
		b.ReportMetric(twoHundred.Seconds(), "s/200-FE")
		b.ReportMetric(fifty.Seconds()/one.Seconds(), "ratio")
		b.ReportMetric(twoHundred.Seconds()/one.Seconds(), "ratio-200")
	}
}

// bareWave is the shape of a fleet audit's store checks with nothing of
// lynctrust's, WinRM's or the lab's in it: n plain net/http clients, each on
// a new connection to a server of its own, all starting at once, each
// sending steps requests of 2 KB one after the other; each server reads a
// request d/2 after it arrived and answers 2 KB d after it arrived, as the
// lab's latency does. It returns the median, over five waves, of what a
// wave takes beyond steps × d: Go's HTTP client and server and this
// machine's loopback TCP, shared by the n clients and n servers on the
// same processors.
func bareWave(b *testing.B, n, steps int, d time.Duration) time.Duration {
	body := bytes.Repeat([]byte("x"), 2048)
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		arrived := time.Now()
		time.Sleep(d / 2)
		io.Copy(io.Discard, r.Body)
		time.Sleep(time.Until(arrived.Add(d)))
		w.Header().Set("Content-Length", "2048")
		w.Write(body)
	})
	var urls []string
	for i := 0; i < n; i++ {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			b.Fatal(err)
		}
		srv := &http.Server{Handler: handler}
		go srv.Serve(ln)
		defer srv.Close()
		urls = append(urls, "http://"+ln.Addr().String()+"/wsman")
	}
	var over []time.Duration
	for range 5 {
		start := time.Now()
		var wg sync.WaitGroup
		for _, u := range urls {
			wg.Go(func() {
				c := &http.Client{Transport: &http.Transport{MaxConnsPerHost: 1}}
				defer c.CloseIdleConnections()
				for range steps {
					resp, err := c.Post(u, "application/soap+xml;charset=UTF-8", bytes.NewReader(body))
					if err != nil {
						b.Error(err)
						return
					}
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
			})
		}
		wg.Wait()
		over = append(over, time.Since(start)-time.Duration(steps)*d)
	}
	return median(over)
}

func median(ds []time.Duration) time.Duration {
	ds = slices.Clone(ds)
	slices.Sort(ds)
	return ds[len(ds)/2]
}
