package dialogs

import (
	"context"
	"slices"
	"sync"
	"time"
)

// CachePrivate decorates a Store with a bounded cache of private dialogs by
// pair: every 1-1 message looks its dialog up, and a private dialog's id,
// type and occupants never change. Entries expire after ttl, so a dialog
// deleted through another node is forgotten here too.
func CachePrivate(s Store, size int, ttl time.Duration) Store {
	return &privateCache{Store: s, size: size, ttl: ttl, m: map[[3]int64]cached{}, byID: map[string][3]int64{}}
}

type cached struct {
	d  Dialog
	at time.Time
}

type privateCache struct {
	Store
	size int
	ttl  time.Duration
	mu   sync.Mutex
	m    map[[3]int64]cached
	byID map[string][3]int64
}

func pairKey(app, a, b int64) [3]int64 {
	if a > b {
		a, b = b, a
	}
	return [3]int64{app, a, b}
}

// PrivateDialog implements Store from the cache when it can.
func (c *privateCache) PrivateDialog(ctx context.Context, app, a, b int64) (*Dialog, error) {
	k := pairKey(app, a, b)
	c.mu.Lock()
	e, ok := c.m[k]
	c.mu.Unlock()
	if ok && time.Since(e.at) < c.ttl {
		d := e.d
		d.Occupants = slices.Clone(e.d.Occupants)
		return &d, nil
	}
	d, err := c.Store.PrivateDialog(ctx, app, a, b)
	if err == nil {
		c.put(k, d)
	}
	return d, err
}

// CreateDialog implements Store, caching new private dialogs.
func (c *privateCache) CreateDialog(ctx context.Context, d *Dialog) (*Dialog, error) {
	existing, err := c.Store.CreateDialog(ctx, d)
	if err == nil && d.Type == Private && len(d.Occupants) == 2 {
		if existing != nil {
			c.put(pairKey(d.AppID, d.Occupants[0], d.Occupants[1]), existing)
		} else {
			c.put(pairKey(d.AppID, d.Occupants[0], d.Occupants[1]), d)
		}
	}
	return existing, err
}

// DeleteDialog implements Store, forgetting the dialog.
func (c *privateCache) DeleteDialog(ctx context.Context, app int64, id string) error {
	c.mu.Lock()
	if k, ok := c.byID[id]; ok {
		delete(c.m, k)
		delete(c.byID, id)
	}
	c.mu.Unlock()
	return c.Store.DeleteDialog(ctx, app, id)
}

func (c *privateCache) put(k [3]int64, d *Dialog) {
	// Only what never changes is kept: the rest (last message, counters)
	// is read from the store when it matters.
	keep := Dialog{ID: d.ID, AppID: d.AppID, Type: d.Type, OwnerID: d.OwnerID, Occupants: slices.Clone(d.Occupants), CreatedAt: d.CreatedAt}
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.m) >= c.size {
		clear(c.m)
		clear(c.byID)
	}
	c.m[k] = cached{keep, time.Now()}
	c.byID[d.ID] = k
}
