package sqlite

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/parley-chat/parley/accounts"
	"github.com/parley-chat/parley/dialogs"
	"github.com/parley-chat/parley/history"
)

// percentiles runs fn n times and reports p50/p99 in milliseconds.
func percentiles(b *testing.B, n int, fn func()) {
	lat := make([]time.Duration, n)
	b.ResetTimer()
	for i := 0; i < n; i++ {
		t0 := time.Now()
		fn()
		lat[i] = time.Since(t0)
	}
	b.StopTimer()
	slices.Sort(lat)
	b.ReportMetric(float64(lat[n/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(lat[n*99/100].Microseconds())/1000, "p99-ms")
}

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil {
		return v
	}
	return def
}

// BenchmarkHistoryPage: the newest 50 messages of a dialog that holds
// PARLEY_BENCH_MESSAGES messages (default 1,000,000), through the archive
// (permission check, hidden/cleared filters, reactions, read flags).
func BenchmarkHistoryPage(b *testing.B) {
	ctx := context.Background()
	db, err := Open(ctx, b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	n := envInt("PARLEY_BENCH_MESSAGES", 1_000_000)
	acc := accounts.NewService(db)
	acc.Iterations = 1000
	app, _ := acc.CreateApp(ctx, "bench", accounts.AppOptions{})
	var users []int64
	for i := 0; i < 3; i++ {
		login, pw := fmt.Sprintf("user%d", i), "password-x"
		u, err := acc.CreateUser(ctx, app.ID, accounts.UserInput{Login: &login, Password: &pw})
		if err != nil {
			b.Fatal(err)
		}
		users = append(users, u.ID)
	}
	ds := dialogs.NewService(db, db)
	v, err := ds.Create(ctx, app.ID, users[0], dialogs.Input{Type: ptr(dialogs.Group), Name: ptr("big"), Occupants: users[1:]})
	if err != nil {
		b.Fatal(err)
	}
	seedMessages(b, db, app.ID, v.ID, users, n)
	ar := history.NewArchive(db, ds)
	q := history.Query{Desc: true, Limit: 50}
	percentiles(b, max(b.N, 2000), func() {
		msgs, _, err := ar.List(ctx, app.ID, users[1], v.ID, q, false)
		if err != nil || len(msgs) != 50 {
			b.Fatalf("%v %d", err, len(msgs))
		}
	})
}

func ptr[T any](v T) *T { return &v }

// seedMessages bulk-inserts n messages in large transactions (FTS included).
func seedMessages(b *testing.B, db *DB, app int64, dialogID string, users []int64, n int) {
	b.Helper()
	ctx := context.Background()
	start := time.Now()
	const batch = 50_000
	now := time.Now().Unix() - int64(n)
	for done := 0; done < n; {
		tx, err := db.db.BeginTx(ctx, nil)
		if err != nil {
			b.Fatal(err)
		}
		st, err := tx.PrepareContext(ctx, `INSERT INTO messages(app_id, dialog_id, id, seq, sender_id, body, date_sent, created_at, updated_at) VALUES (?,?,?,?,?,?,?,?,?)`)
		if err != nil {
			b.Fatal(err)
		}
		for i := 0; i < batch && done < n; i++ {
			done++
			ts := now + int64(done)
			if _, err := st.ExecContext(ctx, app, dialogID, fmt.Sprintf("m%023d", done), done, users[done%len(users)],
				fmt.Sprintf("message number %d about topic %d", done, done%97), ts, ts*1e9, ts*1e9); err != nil {
				b.Fatal(err)
			}
		}
		st.Close()
		if err := tx.Commit(); err != nil {
			b.Fatal(err)
		}
	}
	if _, err := db.db.ExecContext(ctx, `UPDATE dialogs SET seq=? WHERE app_id=? AND id=?`, n, app, dialogID); err != nil {
		b.Fatal(err)
	}
	b.Logf("seeded %d messages in %v", n, time.Since(start).Round(time.Millisecond))
}

// BenchmarkDialogList: the first page (100, newest first) of a user who
// occupies PARLEY_BENCH_DIALOGS dialogs (default 1,000), each with a last
// message and unread counts.
func BenchmarkDialogList(b *testing.B) {
	ctx := context.Background()
	db, err := Open(ctx, b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	n := envInt("PARLEY_BENCH_DIALOGS", 1000)
	acc := accounts.NewService(db)
	acc.Iterations = 1000
	app, _ := acc.CreateApp(ctx, "bench", accounts.AppOptions{})
	var users []int64
	for i := 0; i < 20; i++ {
		login, pw := fmt.Sprintf("user%d", i), "password-x"
		u, _ := acc.CreateUser(ctx, app.ID, accounts.UserInput{Login: &login, Password: &pw})
		users = append(users, u.ID)
	}
	ds := dialogs.NewService(db, db)
	ds.SetLimits(dialogs.Limits{}) // one user makes every dialog
	ar := history.NewArchive(db, ds)
	for i := 0; i < n; i++ {
		v, err := ds.Create(ctx, app.ID, users[0], dialogs.Input{Type: ptr(dialogs.Group), Name: ptr(fmt.Sprintf("d%d", i)), Occupants: []int64{users[1+i%19], users[1+(i+7)%19]}})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := ar.Send(ctx, app.ID, users[1+i%19], history.Post{ID: fmt.Sprintf("m%d", i), DialogID: v.ID, Body: "hello", Save: true}); err != nil {
			b.Fatal(err)
		}
	}
	percentiles(b, max(b.N, 1000), func() {
		views, total, err := ds.List(ctx, app.ID, users[0], dialogs.Query{})
		if err != nil || len(views) != 100 || total != n {
			b.Fatalf("%v %d %d", err, len(views), total)
		}
	})
}

// BenchmarkMAMPage: XEP-0313 pages of 50 from a user's 1-1 archive of
// PARLEY_BENCH_MESSAGES messages (default 1,000,000) across two private
// dialogs, through history.MAM (scope, hidden and cleared filters): the
// newest page (RSM <before/>), the page before a message in the middle,
// the first page from a date in the middle (start), and the newest page
// with one peer (with).
func BenchmarkMAMPage(b *testing.B) {
	ctx := context.Background()
	db, err := Open(ctx, b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	n := envInt("PARLEY_BENCH_MESSAGES", 1_000_000)
	acc := accounts.NewService(db)
	acc.Iterations = 1000
	app, _ := acc.CreateApp(ctx, "bench", accounts.AppOptions{ArchiveAll: true})
	var users []int64
	for i := 0; i < 3; i++ {
		login, pw := fmt.Sprintf("user%d", i), "password-x"
		u, err := acc.CreateUser(ctx, app.ID, accounts.UserInput{Login: &login, Password: &pw})
		if err != nil {
			b.Fatal(err)
		}
		users = append(users, u.ID)
	}
	ds := dialogs.NewService(db, db)
	var chats []*dialogs.Dialog
	for _, peer := range users[1:] {
		d, err := ds.EnsurePrivate(ctx, app.ID, users[0], peer)
		if err != nil {
			b.Fatal(err)
		}
		chats = append(chats, d)
	}
	start := seedPrivate(b, db, app.ID, users[0], chats, n)
	mam := history.NewMAM(db, ds)
	page := func(q history.ArchiveQuery) func() {
		q.AppID, q.Viewer = app.ID, users[0]
		return func() {
			p, err := mam.Query(ctx, q)
			if err != nil || len(p.Messages) != 50 {
				b.Fatalf("%+v: %v", q, err)
			}
		}
	}
	for _, c := range []struct {
		name string
		q    history.ArchiveQuery
	}{
		{"newest", history.ArchiveQuery{Before: true}},
		{"middle", history.ArchiveQuery{BeforeID: fmt.Sprintf("m%023d", n/2)}},
		{"start", history.ArchiveQuery{Start: time.Unix(start+int64(n/2), 0)}},
		{"with", history.ArchiveQuery{With: users[2], Before: true}},
	} {
		b.Run(c.name, func(b *testing.B) { percentiles(b, max(b.N, 2000), page(c.q)) })
	}
}

// seedPrivate bulk-inserts n private messages of viewer, alternating
// between chats and between viewer and the peer sending, one second
// apart; it returns the first date.
func seedPrivate(b *testing.B, db *DB, app, viewer int64, chats []*dialogs.Dialog, n int) int64 {
	b.Helper()
	ctx := context.Background()
	t0 := time.Now()
	const batch = 50_000
	first := time.Now().Unix() - int64(n)
	seqs := make([]int64, len(chats))
	for done := 0; done < n; {
		tx, err := db.db.BeginTx(ctx, nil)
		if err != nil {
			b.Fatal(err)
		}
		st, err := tx.PrepareContext(ctx, `INSERT INTO messages(app_id, dialog_id, id, seq, sender_id, recipient_id, body, date_sent, created_at, updated_at) VALUES (?,?,?,?,?,?,?,?,?,?)`)
		if err != nil {
			b.Fatal(err)
		}
		for i := 0; i < batch && done < n; i++ {
			done++
			c := done % len(chats)
			d := chats[c]
			seqs[c]++
			from, to := viewer, d.PeerOf(viewer)
			if done/len(chats)%2 == 1 {
				from, to = to, from
			}
			ts := first + int64(done)
			if _, err := st.ExecContext(ctx, app, d.ID, fmt.Sprintf("m%023d", done), seqs[c], from, to,
				fmt.Sprintf("message number %d about topic %d", done, done%97), ts, ts*1e9, ts*1e9); err != nil {
				b.Fatal(err)
			}
		}
		st.Close()
		if err := tx.Commit(); err != nil {
			b.Fatal(err)
		}
	}
	for c, d := range chats {
		if _, err := db.db.ExecContext(ctx, `UPDATE dialogs SET seq=? WHERE app_id=? AND id=?`, seqs[c], app, d.ID); err != nil {
			b.Fatal(err)
		}
	}
	b.Logf("seeded %d private messages in %v", n, time.Since(t0).Round(time.Millisecond))
	return first + 1
}
