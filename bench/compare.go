package bench

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
)

// Row is one server's line of the comparison (docs/bench/compare.json).
type Row struct {
	Server        string  `json:"server"`
	KiBPerSession float64 `json:"kib_per_session"`
	LoginsPerSec  float64 `json:"logins_per_s"`
	MsgsPerSec    float64 `json:"msgs_per_s"`
	P50ms         float64 `json:"p50_ms"`
	P99ms         float64 `json:"p99_ms"`
	CPUPer1kMsgs  float64 `json:"cpu_s_per_1k_msgs"`
	Errors        int64   `json:"errors"`
	// MsgsPerSec is the highest sustained rate of a chat ramp when there is
	// one; MaxP99ms is the p99 at that rate and Steps the whole ramp.
	MaxP99ms       float64 `json:"p99_ms_at_max,omitempty"`
	CPUPer1kLogins float64 `json:"cpu_s_per_1k_logins,omitempty"`
	// Group fan-out deliveries per second and their p99; resume soak.
	GroupPerSec float64 `json:"group_deliveries_per_s,omitempty"`
	GroupP99ms  float64 `json:"group_p99_ms,omitempty"`
	Resumes     int64   `json:"resumes,omitempty"`
	ResumeLost  int64   `json:"resume_lost"`
	ResumeDup   int64   `json:"resume_duplicated"`
	// HTTP history and dialog-list pages (Parley only).
	HistoryPerSec float64 `json:"history_requests_per_s,omitempty"`
	HistoryP99ms  float64 `json:"history_p99_ms,omitempty"`
	Steps         []Step  `json:"ramp,omitempty"`
}

// Compare folds connect and chat results (JSON files written with --json)
// into one row per server, in the order servers first appear.
func Compare(files []string) ([]Row, error) {
	var order []string
	rows := map[string]*Row{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		var rs []Result
		if err := json.Unmarshal(b, &rs); err != nil {
			return nil, fmt.Errorf("%s: %w", f, err)
		}
		for _, r := range rs {
			row := rows[r.Server]
			if row == nil {
				row = &Row{Server: r.Server}
				rows[r.Server] = row
				order = append(order, r.Server)
			}
			row.Errors += r.Errors + r.Lost
			switch r.Scenario {
			case "connect":
				row.KiBPerSession, row.LoginsPerSec, row.CPUPer1kLogins = r.KiBPerSession, r.LoginsPerSec, r.CPUPer1kLogins
			case "chat":
				// Latency and CPU at the offered rate every server keeps up with.
				if row.MsgsPerSec == 0 {
					row.MsgsPerSec = r.MsgsPerSec
				}
				row.P50ms, row.P99ms, row.CPUPer1kMsgs = r.P50ms, r.P99ms, r.CPUPer1kMsgs
			case "group":
				row.GroupPerSec, row.GroupP99ms = r.MsgsPerSec, r.P99ms
			case "history":
				row.HistoryPerSec, row.HistoryP99ms = r.MsgsPerSec, r.P99ms
			case "resume":
				row.ResumeLost, row.ResumeDup, row.Resumes = r.Lost, r.Duplicated, r.Resumes
			case "chat-max":
				row.MsgsPerSec = r.MsgsPerSec
				row.MaxP99ms = r.P99ms
				row.Steps = r.Steps
			}
		}
	}
	out := make([]Row, 0, len(order))
	for _, s := range order {
		out = append(out, *rows[s])
	}
	return out, nil
}

// Markdown writes the comparison table.
func Markdown(w io.Writer, rows []Row) {
	fmt.Fprintln(w, "| server | KiB RSS per session | logins/s | sustained msgs/s | p99 ms at that rate | p50 ms | p99 ms | CPU-s per 1,000 msgs | errors |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|---|---|---|")
	for _, r := range rows {
		fmt.Fprintf(w, "| %s | %.1f | %.0f | %.0f | %.2f | %.2f | %.2f | %.3f | %d |\n", r.Server, r.KiBPerSession, r.LoginsPerSec, r.MsgsPerSec, r.MaxP99ms, r.P50ms, r.P99ms, r.CPUPer1kMsgs, r.Errors)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "| server | CPU-s per 1,000 logins | group deliveries/s | group p99 ms | sessions cut and resumed | lost | duplicated |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|---|")
	for _, r := range rows {
		fmt.Fprintf(w, "| %s | %.3f | %.0f | %.2f | %d | %d | %d |\n", r.Server, r.CPUPer1kLogins, r.GroupPerSec, r.GroupP99ms, r.Resumes, r.ResumeLost, r.ResumeDup)
	}
}
