package bench

import (
	"encoding/json"
	"fmt"
	"html/template"
	"io"
	"math"
	"strings"
	"text/tabwriter"
)

// Table writes results as a human table.
func Table(w io.Writer, rs []*Result) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SERVER\tSCENARIO\tSESSIONS\tLOGINS/S\tKIB/SESSION\tSENT\tRECEIVED\tLOST\tDUP\tMSGS/S\tP50 MS\tP95 MS\tP99 MS\tMAX MS\tCPU S/1K MSGS\tERRORS")
	for _, r := range rs {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%.0f\t%.1f\t%d\t%d\t%d\t%d\t%.0f\t%.2f\t%.2f\t%.2f\t%.2f\t%.3f\t%d\n", r.Server, r.Scenario, r.Sessions,
			r.LoginsPerSec, r.KiBPerSession, r.Sent, r.Received, r.Lost, r.Duplicated, r.MsgsPerSec, r.P50ms, r.P95ms, r.P99ms, r.Maxms, r.CPUPer1kMsgs, r.Errors)
	}
	tw.Flush()
	for _, r := range rs {
		if r.FirstError != "" {
			fmt.Fprintf(w, "%s %s: first error from the server: %s\n", r.Server, r.Scenario, r.FirstError)
		}
	}
	for _, r := range rs {
		if len(r.Steps) == 0 {
			continue
		}
		fmt.Fprintf(w, "\n%s ramp (sustained: p99 under the limit, at most 0.1%% lost)\n", r.Server)
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "OFFERED/S\tMSGS/S\tSENT\tLOST\tP50 MS\tP99 MS\tCPU S/1K MSGS\tSUSTAINED")
		for _, s := range r.Steps {
			fmt.Fprintf(tw, "%.0f\t%.0f\t%d\t%d\t%.2f\t%.2f\t%.3f\t%v\n", s.Offered, s.MsgsPerSec, s.Sent, s.Lost, s.P50ms, s.P99ms, s.CPUPer1k, s.Sustained)
		}
		tw.Flush()
	}
}

// JSON writes results as a JSON array.
func JSON(w io.Writer, rs []*Result) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(rs)
}

// HTML writes a report with a latency distribution and a throughput over
// time plot per chat result, as inline SVG.
func HTML(w io.Writer, rs []*Result) error {
	var b strings.Builder
	Table(&b, rs)
	type plot struct {
		Title     string
		Hist, Thr template.HTML
	}
	var plots []plot
	for _, r := range rs {
		if len(r.Latencies) == 0 {
			continue
		}
		plots = append(plots, plot{Title: r.Server + " / " + r.Scenario, Hist: histogram(r.Latencies), Thr: throughput(r.Timeline)})
	}
	return reportTmpl.Execute(w, map[string]any{"Table": b.String(), "Plots": plots})
}

var reportTmpl = template.Must(template.New("r").Parse(`<!doctype html><meta charset="utf-8"><title>parley bench</title>
<style>body{font:14px sans-serif;margin:2em}pre{background:#f6f6f6;padding:1em}svg{background:#fff;border:1px solid #ccc;margin:.5em 0}</style>
<h1>parley bench</h1><pre>{{.Table}}</pre>
{{range .Plots}}<h2>{{.Title}}</h2><p>Delivery latency distribution (ms, log buckets)</p>{{.Hist}}<p>Messages per second over time (sent: grey, received: blue)</p>{{.Thr}}{{end}}`))

// histogram draws latency counts in logarithmic buckets.
func histogram(lat []float64) template.HTML {
	const W, H, n = 640, 200, 40
	lo, hi := math.Log10(max(lat[0], 0.01)), math.Log10(max(lat[len(lat)-1], 0.02))
	if hi <= lo {
		hi = lo + 1
	}
	counts := make([]int, n)
	for _, v := range lat {
		i := int((math.Log10(max(v, 0.01)) - lo) / (hi - lo) * (n - 1))
		counts[min(max(i, 0), n-1)]++
	}
	peak := slicesMax(counts)
	var b strings.Builder
	fmt.Fprintf(&b, `<svg width="%d" height="%d">`, W, H+20)
	for i, c := range counts {
		h := float64(c) / float64(peak) * H
		fmt.Fprintf(&b, `<rect x="%d" y="%.1f" width="%d" height="%.1f" fill="#4a7"/>`, i*W/n, H-h, W/n-2, h)
	}
	fmt.Fprintf(&b, `<text x="0" y="%d">%.2f ms</text><text x="%d" y="%d" text-anchor="end">%.2f ms</text></svg>`, H+15, math.Pow(10, lo), W, H+15, math.Pow(10, hi))
	return template.HTML(b.String())
}

func slicesMax(v []int) int {
	m := 1
	for _, x := range v {
		m = max(m, x)
	}
	return m
}

// throughput draws per-second sent and received counts.
func throughput(ps []Point) template.HTML {
	const W, H = 640, 200
	if len(ps) < 2 {
		return ""
	}
	var rates [][2]float64
	var peak float64 = 1
	for i := 1; i < len(ps); i++ {
		s, r := float64(ps[i].Sent-ps[i-1].Sent), float64(ps[i].Received-ps[i-1].Received)
		rates = append(rates, [2]float64{s, r})
		peak = max(peak, s, r)
	}
	line := func(k int, color string) string {
		var pts []string
		for i, r := range rates {
			pts = append(pts, fmt.Sprintf("%.1f,%.1f", float64(i)/float64(max(len(rates)-1, 1))*W, H-r[k]/peak*H))
		}
		return `<polyline fill="none" stroke="` + color + `" stroke-width="2" points="` + strings.Join(pts, " ") + `"/>`
	}
	return template.HTML(fmt.Sprintf(`<svg width="%d" height="%d">%s%s<text x="0" y="12">%.0f/s</text></svg>`, W, H, line(0, "#999"), line(1, "#36c"), peak))
}
