package dialogs

import (
	"context"
	"testing"
	"time"
)

// countingStore is a Store with no I/O that counts private lookups.
type countingStore struct {
	Store
	lookups int
	d       *Dialog
}

func (s *countingStore) PrivateDialog(context.Context, int64, int64, int64) (*Dialog, error) {
	s.lookups++
	if s.d == nil {
		return nil, ErrNotFound
	}
	return s.d, nil
}

func (s *countingStore) CreateDialog(_ context.Context, d *Dialog) (*Dialog, error) {
	s.d = d
	return nil, nil
}

func (s *countingStore) DeleteDialog(context.Context, int64, string) error { s.d = nil; return nil }

func TestCachePrivate(t *testing.T) {
	base := &countingStore{}
	c := CachePrivate(base, 10, time.Hour)
	ctx := context.Background()
	if _, err := c.PrivateDialog(ctx, 1, 5, 6); err != ErrNotFound {
		t.Fatalf("missing pair: %v", err)
	}
	c.CreateDialog(ctx, &Dialog{ID: "d1", AppID: 1, Type: Private, Occupants: []int64{5, 6}})
	for i := 0; i < 3; i++ {
		d, err := c.PrivateDialog(ctx, 1, 6, 5) // either order
		if err != nil || d.ID != "d1" {
			t.Fatalf("cached: %v %v", d, err)
		}
	}
	if base.lookups != 1 {
		t.Fatalf("store asked %d times, want once (before creation)", base.lookups)
	}
	c.DeleteDialog(ctx, 1, "d1")
	if _, err := c.PrivateDialog(ctx, 1, 5, 6); err != ErrNotFound {
		t.Fatalf("deleted dialog still cached: %v", err)
	}
	expiring := CachePrivate(&countingStore{d: &Dialog{ID: "d2", Type: Private, Occupants: []int64{1, 2}}}, 10, time.Nanosecond)
	expiring.PrivateDialog(ctx, 1, 1, 2)
	time.Sleep(time.Millisecond)
	expiring.PrivateDialog(ctx, 1, 1, 2)
	if n := expiring.(*privateCache).Store.(*countingStore).lookups; n != 2 {
		t.Fatalf("expired entry served from cache (%d lookups)", n)
	}
}
