package mongo_test

import (
	"context"
	"sync"
	"testing"

	"github.com/parley-chat/parley/accounts"
	"github.com/parley-chat/parley/internal/testenv"
	"github.com/parley-chat/parley/storage/mongo"
)

// TestNodesStartTogether: nodes opening an empty database at the same
// moment (indexes, the default app, the installation secret) all come up,
// with one app 1 between them.
func TestNodesStartTogether(t *testing.T) {
	ctx := context.Background()
	uri, name := testenv.MongoURI(t)
	const nodes = 3
	var wg sync.WaitGroup
	errs := make([]error, nodes)
	created := make([]bool, nodes)
	dbs := make([]*mongo.DB, nodes)
	for i := range nodes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			db, err := mongo.Open(ctx, uri, name, mongo.Options{})
			if err != nil {
				errs[i] = err
				return
			}
			dbs[i] = db
			acc := accounts.NewService(db)
			if _, created[i], err = acc.EnsureDefaultApp(ctx); err != nil {
				errs[i] = err
				return
			}
			// The installation secret is claimed once for all.
			_, _, _, errs[i] = acc.ScramSecrets(ctx, accounts.DefaultAppID, 999, "SCRAM-SHA-256")
		}()
	}
	wg.Wait()
	defer func() {
		for _, db := range dbs {
			if db != nil {
				db.Close()
			}
		}
	}()
	n := 0
	for i := range nodes {
		if errs[i] != nil {
			t.Fatalf("node %d: %v", i, errs[i])
		}
		if created[i] {
			n++
		}
	}
	apps, err := accounts.NewService(dbs[0]).Apps(ctx)
	if n != 1 || err != nil || len(apps) != 1 {
		t.Fatalf("%d nodes created the default app; apps %+v %v", n, apps, err)
	}
	dbs[0].Drop(ctx)
}
