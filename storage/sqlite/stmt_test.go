package sqlite

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"
)

// TestStmtPreparedOnce: racing callers of one query share one statement.
func TestStmtPreparedOnce(t *testing.T) {
	ctx := context.Background()
	db, err := Open(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	const q = `SELECT seq, type FROM dialogs WHERE app_id=? AND id=?`
	got := make([]any, 8)
	var wg sync.WaitGroup
	for i := range got {
		wg.Add(1)
		go func() {
			defer wg.Done()
			st, err := db.stmt(ctx, q)
			if err != nil {
				t.Error(err)
				return
			}
			got[i] = st
		}()
	}
	wg.Wait()
	for _, st := range got {
		if st != got[0] {
			t.Fatal("one query prepared more than once")
		}
	}
	n := 0
	db.stmts.Range(func(_, _ any) bool { n++; return true })
	if n != 1 {
		t.Fatalf("%d statements cached for one query", n)
	}
}

// TestStmtCacheBounded: texts built from requests stop being cached at
// maxStmts, and queries past the cap still run; constant texts are still
// cached.
func TestStmtCacheBounded(t *testing.T) {
	ctx := context.Background()
	db, err := Open(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for i := 0; i < maxStmts+50; i++ {
		var n int
		if err := db.queryRowBuilt(ctx, fmt.Sprintf(`SELECT %d + ?`, i), 1).Scan(&n); err != nil || n != i+1 {
			t.Fatalf("query %d: %d %v", i, n, err)
		}
		rows, err := db.queryBuilt(ctx, fmt.Sprintf(`SELECT %d`, i))
		if err != nil {
			t.Fatal(err)
		}
		rows.Close()
	}
	n := 0
	db.stmts.Range(func(_, _ any) bool { n++; return true })
	if n != maxStmts || db.nstmts.Load() != maxStmts {
		t.Fatalf("%d statements cached (counter %d), want the cap %d", n, db.nstmts.Load(), maxStmts)
	}
	var one int
	if err := db.queryRow(ctx, `SELECT length('constant')`).Scan(&one); err != nil || db.nstmts.Load() != maxStmts+1 {
		t.Fatalf("a constant text past the cap: %v, %d cached", err, db.nstmts.Load())
	}
	// A malformed text fails in Scan, not with a panic.
	var x int
	if err := db.queryRowBuilt(ctx, `SELEC nope`).Scan(&x); err == nil {
		t.Fatal("malformed query ran")
	}
}

// TestTxStmtNoPoolDeadlock: writers racing on a statement not cached yet
// all commit. Preparing it on the pool from inside a transaction used to
// wait for a connection held by writers waiting for this one's lock: every
// writer stalled for the busy timeout and failed with SQLITE_BUSY.
func TestTxStmtNoPoolDeadlock(t *testing.T) {
	ctx := context.Background()
	db, err := Open(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.db.ExecContext(ctx, `CREATE TABLE t (n INTEGER)`); err != nil {
		t.Fatal(err)
	}
	errs := make(chan error, 32)
	var wg sync.WaitGroup
	for i := 0; i < cap(errs); i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- func() error {
				ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
				defer cancel()
				tx, err := db.db.BeginTx(ctx, nil)
				if err != nil {
					return err
				}
				defer tx.Rollback()
				st, err := db.txStmt(ctx, tx, `INSERT INTO t(n) VALUES (?)`)
				if err != nil {
					return err
				}
				if _, err := st.ExecContext(ctx, i); err != nil {
					return err
				}
				return tx.Commit()
			}()
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	var n int
	if err := db.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM t`).Scan(&n); err != nil || n != cap(errs) {
		t.Fatalf("%d rows, %v", n, err)
	}
}
