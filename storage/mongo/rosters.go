package mongo

import (
	"context"
	"strconv"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/parley-chat/parley/rosters"
)

var _ rosters.Store = (*DB)(nil)

func init() {
	indexes["roster_items"] = []mongoIndex{{"app_id", "user_id", "jid"}}
}

// A roster item is keyed <app>:<user>:<jid>: one document per owner and
// contact, written compare-and-set on rev (no transactions needed).
func rosterKey(o rosters.Owner, jid string) string {
	return strconv.FormatInt(o.AppID, 10) + ":" + strconv.FormatInt(o.UserID, 10) + ":" + jid
}

type rosterDoc struct {
	Key          string   `bson:"_id"`
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
	it := rosters.Item{JID: d.JID, Name: d.Name, Groups: d.Groups, Subscription: rosters.Subscription(d.Subscription), Ask: d.Ask,
		Approved: d.Approved, PendingIn: d.PendingIn, Status: d.Status, Hidden: d.Hidden, Rev: d.Rev}
	if len(it.Groups) == 0 {
		it.Groups = nil
	}
	return it
}

func (s *DB) rosterFind(ctx context.Context, f bson.M) ([]rosters.Item, error) {
	docs, err := findAll[rosterDoc](ctx, s.c("roster_items"), f, options.Find().SetSort(bson.M{"jid": 1}))
	if err != nil {
		return nil, err
	}
	out := make([]rosters.Item, 0, len(docs))
	for i := range docs {
		out = append(out, docs[i].item())
	}
	return out, nil
}

// RosterVersion implements rosters.Store.
func (s *DB) RosterVersion(ctx context.Context, o rosters.Owner) (int64, error) {
	var d struct {
		N int64 `bson:"n"`
	}
	err := s.c("counters").FindOne(ctx, bson.M{"_id": "roster:" + rosterKey(o, "")}).Decode(&d)
	if notFound(err) {
		return 0, nil
	}
	return d.N, err
}

func (s *DB) bumpRosterVersion(ctx context.Context, o rosters.Owner) (int64, error) {
	return s.nextID(ctx, "roster:"+rosterKey(o, ""))
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

// PutRosterItem implements rosters.Store: the item first, then the version
// (see rosters.Store for why that order).
func (s *DB) PutRosterItem(ctx context.Context, o rosters.Owner, it *rosters.Item) (int64, error) {
	sub := string(it.Subscription)
	if sub == "" {
		sub = string(rosters.None)
	}
	groups := it.Groups
	if groups == nil {
		groups = []string{}
	}
	d := rosterDoc{Key: rosterKey(o, it.JID), AppID: o.AppID, UserID: o.UserID, JID: it.JID, Name: it.Name, Groups: groups,
		Subscription: sub, Ask: it.Ask, Approved: it.Approved, PendingIn: it.PendingIn, Status: it.Status, Hidden: it.Hidden, Rev: it.Rev + 1}
	if it.Rev == 0 {
		if _, err := s.c("roster_items").InsertOne(ctx, d); err != nil {
			if isDup(err) {
				return 0, rosters.ErrConflict
			}
			return 0, err
		}
	} else {
		res, err := s.c("roster_items").ReplaceOne(ctx, bson.M{"_id": d.Key, "rev": it.Rev}, d)
		if err != nil {
			return 0, err
		}
		if res.MatchedCount != 1 {
			return 0, rosters.ErrConflict
		}
	}
	it.Rev = d.Rev
	return s.bumpRosterVersion(ctx, o)
}

// DeleteRosterItem implements rosters.Store.
func (s *DB) DeleteRosterItem(ctx context.Context, o rosters.Owner, jid string, rev int64) (int64, error) {
	res, err := s.c("roster_items").DeleteOne(ctx, bson.M{"_id": rosterKey(o, jid), "rev": rev})
	if err != nil {
		return 0, err
	}
	if res.DeletedCount != 1 {
		if _, err := s.RosterItem(ctx, o, jid); err != nil {
			return 0, err // ErrNotFound
		}
		return 0, rosters.ErrConflict
	}
	return s.bumpRosterVersion(ctx, o)
}

// DeleteRoster implements rosters.Store.
func (s *DB) DeleteRoster(ctx context.Context, o rosters.Owner) error {
	if _, err := s.c("roster_items").DeleteMany(ctx, bson.M{"app_id": o.AppID, "user_id": o.UserID}); err != nil {
		return err
	}
	_, err := s.c("counters").DeleteOne(ctx, bson.M{"_id": "roster:" + rosterKey(o, "")})
	return err
}
