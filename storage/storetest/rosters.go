package storetest

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/parley-chat/parley/rosters"
)

// Rosters checks a roster store under the rosters service: a subscription
// between two local users ends "both" on both rosters, versions move,
// writers of one item never lose each other's change, and a deleted roster
// is empty. atomic says the store's compare-and-set holds under concurrent
// writers (FerretDB v1's updates do not: real MongoDB's do).
func Rosters(t *testing.T, open func(t *testing.T) rosters.Store, atomic bool) {
	ctx := context.Background()
	db := open(t)
	rs := rosters.NewService(db, nil, "localhost")
	ann, ben := rosters.Owner{AppID: 1, UserID: 1}, rosters.Owner{AppID: 1, UserID: 2}
	annJID, benJID := rs.JID(ann), rs.JID(ben)
	if _, err := rs.Set(ctx, ann, benJID, "Ben", []string{"friends"}); err != nil {
		t.Fatal(err)
	}
	for _, step := range []struct {
		who rosters.Owner
		to  string
		typ rosters.Type
	}{{ann, benJID, rosters.Subscribe}, {ben, annJID, rosters.Subscribed}, {ben, annJID, rosters.Subscribe}, {ann, benJID, rosters.Subscribed}} {
		if _, err := rs.Outbound(ctx, step.who, step.to, step.typ, ""); err != nil {
			t.Fatalf("%v %s: %v", step.typ, step.to, err)
		}
	}
	for _, c := range []struct {
		o    rosters.Owner
		peer string
	}{{ann, benJID}, {ben, annJID}} {
		items, err := rs.Items(ctx, c.o)
		if err != nil || len(items) != 1 || items[0].JID != c.peer || items[0].Subscription != rosters.Both {
			t.Fatalf("roster of %v: %+v %v", c.o, items, err)
		}
	}
	r, err := rs.Get(ctx, ann, "")
	if err != nil || r.Unchanged || r.Ver == "" {
		t.Fatalf("get: %+v %v", r, err)
	}
	if again, _ := rs.Get(ctx, ann, r.Ver); !again.Unchanged {
		t.Fatal("the same version was not unchanged")
	}

	// Concurrent writers of one item: every write lands once, in turn.
	it, err := db.RosterItem(ctx, ann, benJID)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	won := 0
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := *it
			if _, err := db.PutRosterItem(ctx, ann, &c); err == nil {
				mu.Lock()
				won++
				mu.Unlock()
			} else if !errors.Is(err, rosters.ErrConflict) {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if won != 1 && (atomic || won == 0) {
		t.Fatalf("%d writers of one revision won, want 1", won)
	}
	if err := db.DeleteRoster(ctx, ann); err != nil {
		t.Fatal(err)
	}
	if items, _ := rs.Items(ctx, ann); len(items) != 0 {
		t.Fatalf("after delete: %+v", items)
	}
}
