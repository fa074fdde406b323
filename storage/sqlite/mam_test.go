package sqlite

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/parley-chat/parley/history"
)

// TestArchivePagesAreIndexRanges: an archive page reads index ranges in
// archive order, whatever the bounds and filters; it never scans or sorts
// the archive. Only the merge of the 1-1 archive's two sides sorts, at
// most 2×Limit rows.
func TestArchivePagesAreIndexRanges(t *testing.T) {
	db, err := Open(context.Background(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	plan := func(q string, args []any) string {
		rows, err := db.db.Query("EXPLAIN QUERY PLAN "+q, args...)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		var out []string
		for rows.Next() {
			var id, parent, unused int
			var detail string
			if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
				t.Fatal(err)
			}
			out = append(out, detail)
		}
		return strings.Join(out, "\n")
	}
	start := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, r := range []history.ArchiveRange{
		{AppID: 1, Viewer: 2, Limit: 51},
		{AppID: 1, Viewer: 2, Limit: 51, Backward: true},
		{AppID: 1, Viewer: 2, Limit: 51, Start: start, End: start.Add(time.Hour)},
	} {
		for _, dir := range []string{"ASC", "DESC"} {
			q, args := privateArchiveQuery(r, 5, 500, dir)
			p := plan(q, args)
			for _, want := range []string{
				"SEARCH m USING INDEX messages_private_sent (app_id=? AND sender_id=? AND rowid>? AND rowid<?)",
				"SEARCH m USING INDEX messages_private_received (app_id=? AND recipient_id=? AND rowid>? AND rowid<?)",
				"MERGE (UNION ALL)",
			} {
				if !strings.Contains(p, want) {
					t.Errorf("1-1 archive %+v %s: no %q in the plan:\n%s", r, dir, want, p)
				}
			}
			if strings.Contains(p, "SCAN m") {
				t.Errorf("1-1 archive %+v %s scans messages:\n%s", r, dir, p)
			}
			r.DialogID = "d"
			q, args = dialogArchiveQuery(r, 5, 500, dir)
			p = plan(q, args)
			if !strings.Contains(p, "SEARCH m USING INDEX messages_seq (app_id=? AND dialog_id=? AND seq>? AND seq<?)") || strings.Contains(p, "TEMP B-TREE") {
				t.Errorf("dialog archive %+v %s is not a seq range:\n%s", r, dir, p)
			}
			r.DialogID = ""
		}
	}
}
