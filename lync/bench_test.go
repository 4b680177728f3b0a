package lync_test

import (
	"context"
	"testing"
	"time"

	"github.com/lynctrust/lynctrust/internal/lab"
	"github.com/lynctrust/lynctrust/lync"
)

// BenchmarkAuditFleet audits an Enterprise Edition pool of 1, of 50 and of
// 200 Front Ends on the lab with 100 ms of latency per request and a 1 s
// Import-Module, with --parallel 50 and 200 (one wave of store checks), in
// the same run, and reports the ratios
// of the wall times to one Front End's (the targets: 1.3 and 2).
//
//	go test ./lync -run '^$' -bench AuditFleet -benchtime 1x
func BenchmarkAuditFleet(b *testing.B) {
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
		start := time.Now()
		r, err := lync.Audit(context.Background(), c, lync.AuditOptions{Parallel: parallel})
		if err != nil {
			b.Fatal(err)
		}
		d := time.Since(start)
		if len(r.Stores) != n {
			b.Fatalf("%d servers audited, want %d", len(r.Stores), n)
		}
		return d
	}
	for i := 0; i < b.N; i++ {
		one := audit(1, 1)
		fifty := audit(50, 50)
		twoHundred := audit(200, 200)
		b.ReportMetric(one.Seconds(), "s/1-FE")
		b.ReportMetric(fifty.Seconds(), "s/50-FE")
		b.ReportMetric(twoHundred.Seconds(), "s/200-FE")
		b.ReportMetric(fifty.Seconds()/one.Seconds(), "ratio")
		b.ReportMetric(twoHundred.Seconds()/one.Seconds(), "ratio-200")
	}
}
