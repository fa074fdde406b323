package bench_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/parley-chat/parley/bench"
)

// TestCompareAndReports: per-scenario results fold into one row per
// server with the keys docs/bench/compare.json promises, the ramp's
// sustained rate wins over the common-rate throughput, and the HTML report
// carries both plots.
func TestCompareAndReports(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, rs ...*bench.Result) string {
		var b bytes.Buffer
		if err := bench.JSON(&b, rs); err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dir, name)
		os.WriteFile(p, b.Bytes(), 0o644)
		return p
	}
	chat := &bench.Result{Server: "a", Scenario: "chat", MsgsPerSec: 1000, P50ms: 0.1, P99ms: 0.5, CPUPer1kMsgs: 0.1,
		Latencies: []float64{0.1, 0.2, 0.5}, Timeline: []bench.Point{{T: 1, Sent: 1000, Received: 1000}, {T: 2, Sent: 2000, Received: 1999}}}
	files := []string{
		write("a-connect.json", &bench.Result{Server: "a", Scenario: "connect", LoginsPerSec: 3000, KiBPerSession: 14, CPUPer1kLogins: 0.3}),
		write("a-chat.json", chat),
		write("a-ramp.json", &bench.Result{Server: "a", Scenario: "chat-max", MsgsPerSec: 16000, P99ms: 9.3,
			Steps: []bench.Step{{Offered: 16000, Sustained: true}, {Offered: 20000}}}),
		write("a-resume.json", &bench.Result{Server: "a", Scenario: "resume", Resumes: 149, Lost: 2, Duplicated: 1}),
		write("b-connect.json", &bench.Result{Server: "b", Scenario: "connect", LoginsPerSec: 1000, Errors: 3}),
	}
	rows, err := bench.Compare(files)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 2 || rows[0].Server != "a" || rows[1].Server != "b" {
		t.Fatalf("rows %+v", rows)
	}
	a := rows[0]
	if a.MsgsPerSec != 16000 || a.MaxP99ms != 9.3 || a.P99ms != 0.5 || a.LoginsPerSec != 3000 || a.KiBPerSession != 14 ||
		a.ResumeLost != 2 || a.ResumeDup != 1 || a.Errors != 2 || rows[1].Errors != 3 {
		t.Fatalf("row a %+v, b %+v", a, rows[1])
	}
	var md bytes.Buffer
	bench.Markdown(&md, rows)
	if !strings.Contains(md.String(), "| a | 14.0 | 3000 | 16000 | 9.30 |") {
		t.Fatalf("markdown:\n%s", md.String())
	}
	if _, err := bench.Compare([]string{filepath.Join(dir, "missing.json")}); err == nil {
		t.Fatal("a missing file compared")
	}
	var html bytes.Buffer
	if err := bench.HTML(&html, []*bench.Result{chat}); err != nil {
		t.Fatal(err)
	}
	if strings.Count(html.String(), "<svg") != 2 {
		t.Fatalf("want a latency and a throughput plot:\n%s", html.String())
	}
}
