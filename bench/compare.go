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
				row.KiBPerSession, row.LoginsPerSec = r.KiBPerSession, r.LoginsPerSec
			case "chat":
				row.MsgsPerSec, row.P50ms, row.P99ms, row.CPUPer1kMsgs = r.MsgsPerSec, r.P50ms, r.P99ms, r.CPUPer1kMsgs
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
	fmt.Fprintln(w, "| server | KiB RSS per session | logins/s | msgs/s | p50 ms | p99 ms | CPU-s per 1,000 msgs | errors |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|---|---|")
	for _, r := range rows {
		fmt.Fprintf(w, "| %s | %.1f | %.0f | %.0f | %.2f | %.2f | %.3f | %d |\n", r.Server, r.KiBPerSession, r.LoginsPerSec, r.MsgsPerSec, r.P50ms, r.P99ms, r.CPUPer1kMsgs, r.Errors)
	}
}
