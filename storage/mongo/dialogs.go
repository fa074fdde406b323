package mongo

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/parley-chat/parley/dialogs"
)

var (
	_ dialogs.Store = (*DB)(nil)
	_ dialogs.Users = (*DB)(nil)
)

func init() {
	indexes["dialogs"] = []mongoIndex{{"app_id", "type"}}
	indexes["members"] = []mongoIndex{{"app_id", "user_id", "occupant", "hidden"}, {"app_id", "dialog_id", "occupant"}}
}

type dialogDoc struct {
	Key          string               `bson:"_id"`
	AppID        int64                `bson:"app_id"`
	ID           string               `bson:"id"`
	Room         string               `bson:"room,omitempty"`
	Type         int                  `bson:"type"`
	OwnerID      int64                `bson:"owner_id"`
	Name         string               `bson:"name"`
	Description  string               `bson:"description"`
	Photo        string               `bson:"photo"`
	Occupants    []int64              `bson:"occupants"`
	Admins       []int64              `bson:"admins"`
	Pinned       []string             `bson:"pinned"`
	Extensions   map[string]string    `bson:"extensions"`
	AllowPreview bool                 `bson:"allow_preview"`
	Large        bool                 `bson:"large"`
	Settings     dialogs.RoomSettings `bson:"room_settings"`
	LastMessage  string               `bson:"last_message"`
	LastID       string               `bson:"last_message_id"`
	LastUser     int64                `bson:"last_message_user_id"`
	LastDate     int64                `bson:"last_message_date"`
	LastStatus   string               `bson:"last_message_status"`
	LastSeq      int64                `bson:"last_message_seq"`
	Seq          int64                `bson:"seq"`
	CreatedAt    int64                `bson:"created_at"`
	UpdatedAt    int64                `bson:"updated_at"`
	CreatedS     int64                `bson:"created_s"`
	UpdatedS     int64                `bson:"updated_s"`
}

func dialogKey(app int64, id string) string { return strconv.FormatInt(app, 10) + ":" + id }

func (d *dialogDoc) dialog() *dialogs.Dialog {
	return &dialogs.Dialog{Room: d.Room, ID: d.ID, AppID: d.AppID, Type: dialogs.Type(d.Type), OwnerID: d.OwnerID, Name: d.Name, Description: d.Description,
		Photo: d.Photo, Occupants: d.Occupants, Admins: d.Admins, Pinned: d.Pinned, Extensions: d.Extensions, AllowPreview: d.AllowPreview,
		Large: d.Large, LastMessage: d.LastMessage, LastMessageID: d.LastID, LastMessageUserID: d.LastUser, LastMessageDate: d.LastDate,
		LastStatus: d.LastStatus, Seq: d.Seq, CreatedAt: fromNano(d.CreatedAt), UpdatedAt: fromNano(d.UpdatedAt), Settings: d.Settings}
}

func docOf(d *dialogs.Dialog) dialogDoc {
	return dialogDoc{Key: dialogKey(d.AppID, d.ID), AppID: d.AppID, ID: d.ID, Room: d.Room, Type: int(d.Type), OwnerID: d.OwnerID, Name: d.Name,
		Description: d.Description, Photo: d.Photo, Occupants: nonNil(d.Occupants), Admins: nonNil(d.Admins), Pinned: nonNilS(d.Pinned),
		Extensions: d.Extensions, AllowPreview: d.AllowPreview, Large: d.Large, Seq: d.Seq, Settings: d.Settings,
		CreatedAt: nano(d.CreatedAt), UpdatedAt: nano(d.UpdatedAt), CreatedS: d.CreatedAt.Unix(), UpdatedS: d.UpdatedAt.Unix()}
}

func nonNil(l []int64) []int64 {
	if l == nil {
		return []int64{}
	}
	return l
}

func nonNilS(l []string) []string {
	if l == nil {
		return []string{}
	}
	return l
}

func privateClaim(d *dialogs.Dialog) string {
	a, b := d.Occupants[0], d.Occupants[1]
	if a > b {
		a, b = b, a
	}
	return strconv.FormatInt(d.AppID, 10) + ":" + strconv.FormatInt(a, 10) + ":" + strconv.FormatInt(b, 10)
}

func memberKey(app, uid int64, id string) string {
	return strconv.FormatInt(app, 10) + ":" + strconv.FormatInt(uid, 10) + ":" + id
}

// CreateDialog implements dialogs.Store. A private pair is unique through
// an _id claim taken after the dialog is written and before its members are;
// a room name through a claim taken before the dialog exists.
func (s *DB) CreateDialog(ctx context.Context, d *dialogs.Dialog) (*dialogs.Dialog, error) {
	if d.Room != "" {
		if _, err := s.c("dialog_rooms").InsertOne(ctx, bson.M{"_id": roomClaim(d.AppID, d.Room), "dialog_id": d.ID}); err != nil {
			if isDup(err) {
				existing, err := s.DialogByRoom(ctx, d.AppID, d.Room)
				return existing, err
			}
			return nil, err
		}
	}
	if _, err := s.c("dialogs").InsertOne(ctx, docOf(d)); err != nil {
		return nil, err
	}
	if d.Type == dialogs.Private && len(d.Occupants) == 2 {
		existing, err := s.claimPrivate(ctx, d)
		if existing != nil || err != nil {
			// Ours has no members yet, so nobody has seen it.
			s.c("dialogs").DeleteOne(ctx, bson.M{"_id": dialogKey(d.AppID, d.ID)})
			return existing, err
		}
	}
	return nil, s.addMembers(ctx, d.AppID, d.ID, d.Occupants)
}

// claimPrivate makes d its pair's private dialog, or returns the one that
// already is. Since a dialog is written before its claim, a claim naming a
// missing dialog was left by a deletion that stopped half-way.
func (s *DB) claimPrivate(ctx context.Context, d *dialogs.Dialog) (*dialogs.Dialog, error) {
	key := privateClaim(d)
	for range 3 {
		_, err := s.c("dialog_private").InsertOne(ctx, bson.M{"_id": key, "dialog_id": d.ID})
		if !isDup(err) {
			return nil, err
		}
		var c struct {
			DialogID string `bson:"dialog_id"`
		}
		if err := s.c("dialog_private").FindOne(ctx, bson.M{"_id": key}).Decode(&c); err != nil {
			if notFound(err) {
				continue // released meanwhile
			}
			return nil, err
		}
		existing, err := s.Dialog(ctx, d.AppID, c.DialogID)
		if !errors.Is(err, dialogs.ErrNotFound) {
			return existing, err
		}
		// Matching the old holder lets only one of two racing takers win.
		res, err := s.c("dialog_private").UpdateOne(ctx, bson.M{"_id": key, "dialog_id": c.DialogID}, bson.M{"$set": bson.M{"dialog_id": d.ID}})
		if err != nil || res.ModifiedCount == 1 {
			return nil, err
		}
	}
	return nil, fmt.Errorf("mongo: private dialog %s: claim contended, try again", key)
}

func (s *DB) addMembers(ctx context.Context, app int64, id string, users []int64) error {
	for _, u := range users {
		_, err := s.c("members").UpdateOne(ctx, bson.M{"_id": memberKey(app, u, id)},
			bson.M{"$set": bson.M{"app_id": app, "user_id": u, "dialog_id": id, "occupant": true, "hidden": false},
				"$setOnInsert": bson.M{"read_seq": int64(0), "cleared_seq": int64(0), "notifications": true}},
			options.UpdateOne().SetUpsert(true))
		if err != nil {
			return err
		}
	}
	return nil
}

// Dialog implements dialogs.Store.
func (s *DB) Dialog(ctx context.Context, app int64, id string) (*dialogs.Dialog, error) {
	var d dialogDoc
	if err := s.c("dialogs").FindOne(ctx, bson.M{"_id": dialogKey(app, id)}).Decode(&d); err != nil {
		if notFound(err) {
			return nil, dialogs.ErrNotFound
		}
		return nil, err
	}
	return d.dialog(), nil
}

// PrivateDialog implements dialogs.Store.
func (s *DB) PrivateDialog(ctx context.Context, app, a, b int64) (*dialogs.Dialog, error) {
	var c struct {
		DialogID string `bson:"dialog_id"`
	}
	err := s.c("dialog_private").FindOne(ctx, bson.M{"_id": privateClaim(&dialogs.Dialog{AppID: app, Occupants: []int64{a, b}})}).Decode(&c)
	if notFound(err) {
		return nil, dialogs.ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	return s.Dialog(ctx, app, c.DialogID)
}

// UpdateDialog implements dialogs.Store.
func (s *DB) UpdateDialog(ctx context.Context, d *dialogs.Dialog, added, removed []int64) error {
	res, err := s.c("dialogs").UpdateOne(ctx, bson.M{"_id": dialogKey(d.AppID, d.ID)}, bson.M{"$set": bson.M{
		"name": d.Name, "description": d.Description, "photo": d.Photo, "occupants": nonNil(d.Occupants), "admins": nonNil(d.Admins),
		"pinned": nonNilS(d.Pinned), "extensions": d.Extensions, "allow_preview": d.AllowPreview, "large": d.Large,
		"room_settings": d.Settings, "updated_at": nano(d.UpdatedAt), "updated_s": d.UpdatedAt.Unix()}})
	if err != nil {
		return err
	}
	if res.MatchedCount == 0 {
		return dialogs.ErrNotFound
	}
	if err := s.addMembers(ctx, d.AppID, d.ID, added); err != nil {
		return err
	}
	for _, u := range removed {
		if _, err := s.c("members").DeleteOne(ctx, bson.M{"_id": memberKey(d.AppID, u, d.ID)}); err != nil {
			return err
		}
	}
	return nil
}

// DeleteDialog implements dialogs.Store.
func (s *DB) DeleteDialog(ctx context.Context, app int64, id string) error {
	d, err := s.Dialog(ctx, app, id)
	if err != nil {
		return err
	}
	if _, err := s.c("dialogs").DeleteOne(ctx, bson.M{"_id": dialogKey(app, id)}); err != nil {
		return err
	}
	if d.Type == dialogs.Private && len(d.Occupants) == 2 {
		s.c("dialog_private").DeleteOne(ctx, bson.M{"_id": privateClaim(d), "dialog_id": id})
	}
	if d.Room != "" {
		s.c("dialog_rooms").DeleteOne(ctx, bson.M{"_id": roomClaim(app, d.Room), "dialog_id": id})
	}
	for _, coll := range []string{"members", "messages", "message_hidden", "reactions"} {
		if _, err := s.c(coll).DeleteMany(ctx, bson.M{"app_id": app, "dialog_id": id}); err != nil {
			return err
		}
	}
	return nil
}

type memberDoc struct {
	DialogID      string `bson:"dialog_id"`
	UserID        int64  `bson:"user_id"`
	Occupant      bool   `bson:"occupant"`
	ReadSeq       int64  `bson:"read_seq"`
	ClearedSeq    int64  `bson:"cleared_seq"`
	Hidden        bool   `bson:"hidden"`
	Notifications bool   `bson:"notifications"`
}

// Member implements dialogs.Store.
func (s *DB) Member(ctx context.Context, app int64, id string, uid int64) (*dialogs.Member, error) {
	var m memberDoc
	if err := s.c("members").FindOne(ctx, bson.M{"_id": memberKey(app, uid, id)}).Decode(&m); err != nil {
		if notFound(err) {
			return nil, dialogs.ErrNotFound
		}
		return nil, err
	}
	return &dialogs.Member{UserID: uid, ReadSeq: max(m.ReadSeq, m.ClearedSeq), Hidden: m.Hidden, Notifications: m.Notifications}, nil
}

// SetMember implements dialogs.Store; a non-occupant gets a state-only doc.
func (s *DB) SetMember(ctx context.Context, app int64, id string, m *dialogs.Member) error {
	_, err := s.c("members").UpdateOne(ctx, bson.M{"_id": memberKey(app, m.UserID, id)},
		bson.M{"$set": bson.M{"app_id": app, "user_id": m.UserID, "dialog_id": id, "hidden": m.Hidden, "notifications": m.Notifications},
			"$max":         bson.M{"read_seq": m.ReadSeq},
			"$setOnInsert": bson.M{"occupant": false, "cleared_seq": int64(0)}},
		options.UpdateOne().SetUpsert(true))
	return err
}

// Occupants implements dialogs.Store.
func (s *DB) Occupants(ctx context.Context, app int64, id string, limit, skip int) ([]int64, int, error) {
	f := bson.M{"app_id": app, "dialog_id": id, "occupant": true}
	total, err := s.c("members").CountDocuments(ctx, f)
	if err != nil {
		return nil, 0, err
	}
	docs, err := findAll[memberDoc](ctx, s.c("members"), f, options.Find().SetSort(bson.M{"user_id": 1}).SetSkip(int64(skip)).SetLimit(int64(limit)))
	if err != nil {
		return nil, 0, err
	}
	out := make([]int64, 0, len(docs))
	for _, d := range docs {
		out = append(out, d.UserID)
	}
	return out, int(total), nil
}

// Muted implements dialogs.Store.
func (s *DB) Muted(ctx context.Context, app int64, id string) ([]int64, error) {
	docs, err := findAll[memberDoc](ctx, s.c("members"), bson.M{"app_id": app, "dialog_id": id, "notifications": false})
	if err != nil {
		return nil, err
	}
	var out []int64
	for _, d := range docs {
		out = append(out, d.UserID)
	}
	return out, nil
}

// MissingUsers implements dialogs.Users.
func (s *DB) MissingUsers(ctx context.Context, app int64, ids []int64) ([]int64, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	cur, err := s.c("users").Find(ctx, bson.M{"app_id": app, "_id": bson.M{"$in": ids}}, options.Find().SetProjection(bson.M{"_id": 1}))
	if err != nil {
		return nil, err
	}
	var docs []struct {
		ID int64 `bson:"_id"`
	}
	if err := cur.All(ctx, &docs); err != nil {
		return nil, err
	}
	found := map[int64]bool{}
	for _, d := range docs {
		found[d.ID] = true
	}
	var missing []int64
	for _, id := range ids {
		if !found[id] {
			missing = append(missing, id)
		}
	}
	return missing, nil
}

// field maps a filter field to a document field and its value kind.
func dialogField(f string) (string, byte, bool) {
	switch f {
	case "_id":
		return "id", 's', true
	case "type":
		return "type", 'i', true
	case "name":
		return "name", 's', true
	case "last_message_date_sent":
		return "last_message_date", 'i', true
	case "created_at":
		return "created_s", 't', true
	case "updated_at":
		return "updated_s", 't', true
	case "user_id":
		return "owner_id", 'i', true
	case "occupants_ids":
		return "occupants", 'a', true
	}
	if k, ok := strings.CutPrefix(f, "extensions."); ok && k != "" && !strings.ContainsAny(k, ".$") {
		return "extensions." + k, 's', true
	}
	return "", 0, false
}

// condition renders a filter as a MongoDB condition on field.
func condition(field string, kind byte, op string, vals []string) (bson.M, error) {
	conv := make([]any, 0, len(vals))
	for _, v := range vals {
		v = strings.TrimSpace(v)
		switch kind {
		case 'i', 'a':
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				return nil, &dialogs.FilterError{Msg: strconv.Quote(v) + " is not an integer"}
			}
			conv = append(conv, n)
		case 't':
			n, err := dialogs.ParseTime(v)
			if err != nil {
				return nil, &dialogs.FilterError{Msg: err.Error()}
			}
			conv = append(conv, n)
		default:
			conv = append(conv, v)
		}
	}
	if len(conv) == 0 {
		return nil, &dialogs.FilterError{Msg: "filter without a value"}
	}
	switch op {
	case "":
		return bson.M{field: conv[0]}, nil
	case "lt", "lte", "gt", "gte", "ne":
		return bson.M{field: bson.M{"$" + op: conv[0]}}, nil
	case "in":
		return bson.M{field: bson.M{"$in": conv}}, nil
	case "nin":
		return bson.M{field: bson.M{"$nin": conv}}, nil
	case "all":
		if kind == 'a' {
			return bson.M{field: bson.M{"$all": conv}}, nil
		}
		return bson.M{field: bson.M{"$in": conv}}, nil
	case "ctn":
		return bson.M{field: bson.Regex{Pattern: regexp.QuoteMeta(vals[0]), Options: "i"}}, nil
	}
	return nil, &dialogs.FilterError{Msg: "unknown operator " + op}
}

var dialogSorts = map[string]string{"last_message_date_sent": "last_message_date", "created_at": "created_at", "updated_at": "updated_at", "name": "name"}

// Dialogs implements dialogs.Store: the viewer's dialogs plus the app's
// broadcast dialogs, each as the viewer sees it.
func (s *DB) Dialogs(ctx context.Context, app, viewer int64, q dialogs.Query) ([]dialogs.View, int, error) {
	members, err := findAll[memberDoc](ctx, s.c("members"), bson.M{"app_id": app, "user_id": viewer})
	if err != nil {
		return nil, 0, err
	}
	state := map[string]memberDoc{}
	var mine, hidden []string
	for _, m := range members {
		state[m.DialogID] = m
		switch {
		case m.Hidden:
			hidden = append(hidden, m.DialogID)
		case m.Occupant:
			mine = append(mine, m.DialogID)
		}
	}
	and := []bson.M{{"app_id": app}, {"$or": []bson.M{{"id": bson.M{"$in": nonNilS(mine)}}, {"type": int(dialogs.Broadcast)}}}}
	if len(hidden) > 0 {
		and = append(and, bson.M{"id": bson.M{"$nin": hidden}})
	}
	for _, f := range q.Filters {
		field, kind, ok := dialogField(f.Field)
		if !ok {
			return nil, 0, &dialogs.FilterError{Msg: "unknown filter field " + f.Field}
		}
		c, err := condition(field, kind, f.Op, f.Values)
		if err != nil {
			return nil, 0, err
		}
		and = append(and, c)
	}
	filter := bson.M{"$and": and}
	total, err := s.c("dialogs").CountDocuments(ctx, filter)
	if err != nil {
		return nil, 0, err
	}
	col, ok := dialogSorts[q.SortField]
	if !ok {
		col = "last_message_date"
	}
	dir := -1
	if q.SortAsc {
		dir = 1
	}
	sort := bson.D{{Key: col, Value: dir}}
	if col != "updated_at" {
		sort = append(sort, bson.E{Key: "updated_at", Value: dir})
	}
	docs, err := findAll[dialogDoc](ctx, s.c("dialogs"), filter, options.Find().SetSort(sort).SetSkip(int64(q.Skip)).SetLimit(int64(q.Limit)))
	if err != nil {
		return nil, 0, err
	}
	out := make([]dialogs.View, 0, len(docs))
	for i := range docs {
		d := docs[i].dialog()
		m, ok := state[d.ID]
		v := dialogs.View{Dialog: *d, Notifications: !ok || m.Notifications}
		v.Unread = max(d.Seq-max(m.ReadSeq, m.ClearedSeq), 0)
		if d.LastMessageUserID == viewer {
			v.LastMessageStatus = d.LastStatus
		}
		out = append(out, v)
	}
	return out, int(total), nil
}

func nowNano() int64 { return time.Now().UnixNano() }

func roomClaim(app int64, room string) string { return strconv.FormatInt(app, 10) + ":" + room }

// DialogByRoom implements dialogs.Store.
func (s *DB) DialogByRoom(ctx context.Context, app int64, room string) (*dialogs.Dialog, error) {
	var c struct {
		DialogID string `bson:"dialog_id"`
	}
	if err := s.c("dialog_rooms").FindOne(ctx, bson.M{"_id": roomClaim(app, room)}).Decode(&c); err != nil {
		if notFound(err) {
			return nil, dialogs.ErrNotFound
		}
		return nil, err
	}
	return s.Dialog(ctx, app, c.DialogID)
}
