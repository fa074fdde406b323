package mongo

import (
	"context"
	"math/rand/v2"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/parley-chat/parley/rosters"
)

var _ rosters.Store = (*DB)(nil)

// Roster items are one document each, _id <app>:<user>:<jid>, written
// compare-and-set on rev: a new item by insert (the _id makes the second
// of two racing inserts fail), a change by an update matching the rev it
// read. The version is a counter per user in roster_versions, raised by
// findAndModify $inc after the item is written (the order rosters.Store
// asks of stores without transactions).
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

// newRev is a revision no earlier write of the item is likely to have
// had: random, so an item deleted and written again does not repeat one a
// reader still holds.
func newRev() int64 { return rand.Int64N(1<<62) + 1 }

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
		Ask: it.Ask, Approved: it.Approved, PendingIn: it.PendingIn, Status: it.Status, Hidden: it.Hidden, Rev: newRev()}
	if it.Rev == 0 {
		if _, err := s.c("roster_items").InsertOne(ctx, d); err != nil {
			if isDup(err) {
				return 0, rosters.ErrConflict
			}
			return 0, err
		}
	} else {
		res, err := s.c("roster_items").ReplaceOne(ctx, bson.M{"_id": d.ID, "rev": it.Rev}, d)
		if err != nil {
			return 0, err
		}
		if res.MatchedCount == 0 {
			return 0, rosters.ErrConflict
		}
	}
	it.Rev = d.Rev
	return s.raiseRosterVersion(ctx, o)
}

// DeleteRosterItem implements rosters.Store.
func (s *DB) DeleteRosterItem(ctx context.Context, o rosters.Owner, jid string, rev int64) (int64, error) {
	res, err := s.c("roster_items").DeleteOne(ctx, bson.M{"_id": rosterKey(o, jid), "rev": rev})
	if err != nil {
		return 0, err
	}
	if res.DeletedCount == 0 {
		if _, err := s.RosterItem(ctx, o, jid); err != nil {
			return 0, err // ErrNotFound, or the read's failure
		}
		return 0, rosters.ErrConflict
	}
	return s.raiseRosterVersion(ctx, o)
}

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
