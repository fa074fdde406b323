package sqlite

import (
	"context"
	"sync"
	"testing"
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
