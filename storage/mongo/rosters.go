package mongo

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/parley-chat/parley/rosters"
)

var _ rosters.Store = (*DB)(nil)

// Roster items are one document each, _id <app>:<user>:<jid>; the
// version is a counter per user in roster_versions, raised by
// findAndModify $inc after the item is written (the order rosters.Store
// asks of stores without transactions). Writes are compare-and-set on
// rev under the roster's lock (lockRoster).
func init() {
	indexes["roster_items"] = []mongoIndex{{"app_id", "user_id", "jid"}, {"app_id", "user_id", "pending_in"}}
}

type rosterDoc struct {
	ID           string   `bson:"_id"`
	AppID        int64    `bson:"app_id"`
	UserID       int64    `bson:"user_id"`
	JID          string   `bson:"jid"`
	Name         string   `bson:"name"`
	Groups       []string `bson:"groups"`
	Subscription string   `bson:"subscription"`
	Ask          bool     `bson:"ask"`
	Approved     bool     `bson:"approved"`
	PendingIn    bool     `bson:"pending_in"`
	Status       string   `bson:"status"`
	Hidden       bool     `bson:"hidden"`
	Rev          int64    `bson:"rev"`
}

func (d *rosterDoc) item() rosters.Item {
	return rosters.Item{JID: d.JID, Name: d.Name, Groups: d.Groups, Subscription: rosters.Subscription(d.Subscription), Ask: d.Ask,
		Approved: d.Approved, PendingIn: d.PendingIn, Status: d.Status, Hidden: d.Hidden, Rev: d.Rev}
}

func rosterKey(o rosters.Owner, jid string) string { return userKeyStr(o.AppID, o.UserID) + ":" + jid }

// RosterVersion implements rosters.Store.
func (s *DB) RosterVersion(ctx context.Context, o rosters.Owner) (int64, error) {
	var d struct {
		Ver int64 `bson:"ver"`
	}
	err := s.c("roster_versions").FindOne(ctx, bson.M{"_id": userKeyStr(o.AppID, o.UserID)}).Decode(&d)
	if notFound(err) {
		return 0, nil
	}
	return d.Ver, err
}

func (s *DB) rosterFind(ctx context.Context, filter bson.M) ([]rosters.Item, error) {
	docs, err := findAll[rosterDoc](ctx, s.c("roster_items"), filter, options.Find().SetSort(bson.D{{Key: "jid", Value: 1}}))
	if err != nil {
		return nil, err
	}
	out := make([]rosters.Item, 0, len(docs))
	for i := range docs {
		out = append(out, docs[i].item())
	}
	return out, nil
}

// RosterItems implements rosters.Store.
func (s *DB) RosterItems(ctx context.Context, o rosters.Owner) ([]rosters.Item, error) {
	return s.rosterFind(ctx, bson.M{"app_id": o.AppID, "user_id": o.UserID})
}

// PendingRosterItems implements rosters.Store.
func (s *DB) PendingRosterItems(ctx context.Context, o rosters.Owner) ([]rosters.Item, error) {
	return s.rosterFind(ctx, bson.M{"app_id": o.AppID, "user_id": o.UserID, "pending_in": true})
}

// RosterItem implements rosters.Store.
func (s *DB) RosterItem(ctx context.Context, o rosters.Owner, jid string) (*rosters.Item, error) {
	var d rosterDoc
	if err := s.c("roster_items").FindOne(ctx, bson.M{"_id": rosterKey(o, jid)}).Decode(&d); err != nil {
		if notFound(err) {
			return nil, rosters.ErrNotFound
		}
		return nil, err
	}
	it := d.item()
	return &it, nil
}

// CountRosterItems implements rosters.Store.
func (s *DB) CountRosterItems(ctx context.Context, o rosters.Owner) (items, pending int, err error) {
	n, err := s.c("roster_items").CountDocuments(ctx, bson.M{"app_id": o.AppID, "user_id": o.UserID, "hidden": false})
	if err != nil {
		return 0, 0, err
	}
	p, err := s.c("roster_items").CountDocuments(ctx, bson.M{"app_id": o.AppID, "user_id": o.UserID, "pending_in": true})
	return int(n), int(p), err
}

// Writes to one roster hold its lock: a roster_locks document whose _id
// is the owner, taken by inserting it. Conditional updates and $inc are
// not atomic on FerretDB v1 (it reads, changes and writes back the whole
// document; two racing writers both "match"), while an insert of an _id
// that exists always fails; so the lock, not an update filter, makes the
// revision check and the version increase atomic.
const (
	// rosterLockWait bounds how long a write waits for another writer of
	// the same roster (which holds the lock for a few round trips).
	rosterLockWait = 5 * time.Second
	// rosterLockGrace is the age past which a lock is one a crashed
	// writer left behind, and is taken over.
	rosterLockGrace = 30 * time.Second
)

// lockRoster takes the owner's roster lock; unlock releases it.
func (s *DB) lockRoster(ctx context.Context, o rosters.Owner) (unlock func(), err error) {
	id := userKeyStr(o.AppID, o.UserID)
	token := rand.Int64()
	locks := s.c("roster_locks")
	deadline := time.Now().Add(rosterLockWait)
	for attempt := 0; ; attempt++ {
		_, err := locks.InsertOne(ctx, bson.M{"_id": id, "token": token, "at": time.Now().UnixNano()})
		if err == nil {
			return func() { locks.DeleteOne(context.WithoutCancel(ctx), bson.M{"_id": id, "token": token}) }, nil
		}
		if !isDup(err) {
			return nil, err
		}
		var held struct {
			Token int64 `bson:"token"`
			At    int64 `bson:"at"`
		}
		if err := locks.FindOne(ctx, bson.M{"_id": id}).Decode(&held); err == nil && time.Since(fromNano(held.At)) > rosterLockGrace {
			locks.DeleteOne(ctx, bson.M{"_id": id, "token": held.Token})
			continue
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("mongo: the roster of user %d is busy; try again", o.UserID)
		}
		wait := time.Duration(1+rand.IntN(1<<min(attempt, 4))) * time.Millisecond
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(wait):
		}
	}
}

// rosterWrite runs write under the roster's lock after checking the
// stored revision of the item is rev (0: there is none), then raises the
// version. The new revision is the new version: unique in the roster.
func (s *DB) rosterWrite(ctx context.Context, o rosters.Owner, jid string, rev int64, write func(newRev int64) error) (int64, error) {
	unlock, err := s.lockRoster(ctx, o)
	if err != nil {
		return 0, err
	}
	defer unlock()
	cur, err := s.RosterItem(ctx, o, jid)
	switch {
	case errors.Is(err, rosters.ErrNotFound):
		if rev != 0 {
			return 0, rosters.ErrConflict
		}
	case err != nil:
		return 0, err
	case cur.Rev != rev:
		return 0, rosters.ErrConflict
	}
	ver, err := s.RosterVersion(ctx, o)
	if err != nil {
		return 0, err
	}
	// The item first, then the version: see rosters.Store.
	if err := write(ver + 1); err != nil {
		return 0, err
	}
	return s.raiseRosterVersion(ctx, o)
}

// PutRosterItem implements rosters.Store.
func (s *DB) PutRosterItem(ctx context.Context, o rosters.Owner, it *rosters.Item) (int64, error) {
	sub := string(it.Subscription)
	if sub == "" {
		sub = string(rosters.None)
	}
	groups := it.Groups
	if groups == nil {
		groups = []string{}
	}
	d := rosterDoc{ID: rosterKey(o, it.JID), AppID: o.AppID, UserID: o.UserID, JID: it.JID, Name: it.Name, Groups: groups, Subscription: sub,
		Ask: it.Ask, Approved: it.Approved, PendingIn: it.PendingIn, Status: it.Status, Hidden: it.Hidden}
	ver, err := s.rosterWrite(ctx, o, it.JID, it.Rev, func(rev int64) error {
		d.Rev = rev
		_, err := s.c("roster_items").ReplaceOne(ctx, bson.M{"_id": d.ID}, d, options.Replace().SetUpsert(true))
		return err
	})
	if err != nil {
		return 0, err
	}
	it.Rev = d.Rev
	return ver, nil
}

// DeleteRosterItem implements rosters.Store.
func (s *DB) DeleteRosterItem(ctx context.Context, o rosters.Owner, jid string, rev int64) (int64, error) {
	if rev == 0 {
		return 0, rosters.ErrConflict
	}
	ver, err := s.rosterWrite(ctx, o, jid, rev, func(int64) error {
		_, err := s.c("roster_items").DeleteOne(ctx, bson.M{"_id": rosterKey(o, jid)})
		return err
	})
	if errors.Is(err, rosters.ErrConflict) {
		if _, gerr := s.RosterItem(ctx, o, jid); errors.Is(gerr, rosters.ErrNotFound) {
			return 0, rosters.ErrNotFound
		}
	}
	return ver, err
}

// raiseRosterVersion increases the version (under the roster's lock).
func (s *DB) raiseRosterVersion(ctx context.Context, o rosters.Owner) (int64, error) {
	var doc struct {
		Ver int64 `bson:"ver"`
	}
	err := upsertRetry(func() error {
		return s.c("roster_versions").FindOneAndUpdate(ctx, bson.M{"_id": userKeyStr(o.AppID, o.UserID)}, bson.M{"$inc": bson.M{"ver": int64(1)}},
			options.FindOneAndUpdate().SetUpsert(true).SetReturnDocument(options.After)).Decode(&doc)
	})
	return doc.Ver, err
}

// DeleteRoster implements rosters.Store.
func (s *DB) DeleteRoster(ctx context.Context, o rosters.Owner) error {
	if _, err := s.c("roster_items").DeleteMany(ctx, bson.M{"app_id": o.AppID, "user_id": o.UserID}); err != nil {
		return err
	}
	_, err := s.c("roster_versions").DeleteOne(ctx, bson.M{"_id": userKeyStr(o.AppID, o.UserID)})
	return err
}
