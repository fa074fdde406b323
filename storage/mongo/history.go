package mongo

import (
	"context"
	"regexp"
	"slices"
	"strconv"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/parley-chat/parley/dialogs"
	"github.com/parley-chat/parley/history"
)

var _ history.Store = (*DB)(nil)

func init() {
	indexes["messages"] = []mongoIndex{{"app_id", "dialog_id", "seq"}, {"app_id", "id"}, {"app_id", "dialog_id", "date_sent"},
		// A user's 1-1 archive (mam.go): private messages by sender and by
		// recipient in pos order, and by date for a query's date bounds.
		{"app_id", "sender_id", "pos"}, {"app_id", "recipient_id", "pos"}, {"app_id", "date_sent"}}
	indexes["message_hidden"] = []mongoIndex{{"app_id", "user_id", "dialog_id"}}
	indexes["reactions"] = []mongoIndex{{"app_id", "dialog_id", "message_id"}}
}

type messageDoc struct {
	Key          string              `bson:"_id"`
	AppID        int64               `bson:"app_id"`
	DialogID     string              `bson:"dialog_id"`
	ID           string              `bson:"id"`
	Seq          int64               `bson:"seq"`
	SenderID     int64               `bson:"sender_id"`
	RecipientID  int64               `bson:"recipient_id"`
	Body         string              `bson:"body"`
	DateSent     int64               `bson:"date_sent"`
	Attachments  []map[string]string `bson:"attachments"`
	AttachTypes  []string            `bson:"attachment_types"`
	Custom       bson.M              `bson:"custom"`
	ReadIDs      []int64             `bson:"read_ids"`
	DeliveredIDs []int64             `bson:"delivered_ids"`
	CreatedAt    int64               `bson:"created_at"`
	UpdatedAt    int64               `bson:"updated_at"`
	// Pos orders a private message in its users' 1-1 archives (see
	// nextPos); absent on other messages.
	Pos int64 `bson:"pos,omitempty"`
}

func messageKey(app int64, dialog, id string) string {
	return strconv.FormatInt(app, 10) + ":" + dialog + ":" + id
}

func (d *messageDoc) message() *history.Message {
	m := &history.Message{ID: d.ID, AppID: d.AppID, DialogID: d.DialogID, Seq: d.Seq, SenderID: d.SenderID, RecipientID: d.RecipientID,
		Body: d.Body, DateSent: d.DateSent, Attachments: d.Attachments, ReadIDs: d.ReadIDs, DeliveredIDs: d.DeliveredIDs,
		CreatedAt: fromNano(d.CreatedAt), UpdatedAt: fromNano(d.UpdatedAt)}
	if len(d.Custom) > 0 {
		m.Custom = plain(d.Custom).(map[string]any)
	}
	return m
}

// plain turns decoded BSON documents back into map[string]any.
func plain(v any) any {
	switch t := v.(type) {
	case bson.M:
		out := map[string]any{}
		for k, x := range t {
			out[k] = plain(x)
		}
		return out
	case bson.D:
		out := map[string]any{}
		for _, e := range t {
			out[e.Key] = plain(e.Value)
		}
		return out
	}
	return v
}

// AppendMessage implements history.Store without a transaction: the
// message is claimed by its _id first (a retry stops there), then takes the
// next sequence number, then the dialog's last message moves forward only if
// this one is newer.
func (s *DB) AppendMessage(ctx context.Context, m *history.Message) (bool, error) {
	var d dialogDoc
	if err := s.c("dialogs").FindOne(ctx, bson.M{"_id": dialogKey(m.AppID, m.DialogID)}, options.FindOne().SetProjection(bson.M{"type": 1})).Decode(&d); err != nil {
		if notFound(err) {
			return false, history.ErrNotFound
		}
		return false, err
	}
	var types []string
	for _, a := range m.Attachments {
		if t := a["type"]; t != "" {
			types = append(types, t)
		}
	}
	doc := messageDoc{Key: messageKey(m.AppID, m.DialogID, m.ID), AppID: m.AppID, DialogID: m.DialogID, ID: m.ID, SenderID: m.SenderID,
		RecipientID: m.RecipientID, Body: m.Body, DateSent: m.DateSent, Attachments: m.Attachments, AttachTypes: nonNilS(types),
		Custom: bson.M(m.Custom), ReadIDs: []int64{}, DeliveredIDs: []int64{}, CreatedAt: nano(m.CreatedAt), UpdatedAt: nano(m.UpdatedAt)}
	if dialogs.Type(d.Type) == dialogs.Private {
		// Taken before the insert, so the message is never stored without
		// its place in the 1-1 archives; a retry wastes one number.
		pos, err := s.nextPos(ctx, m.AppID)
		if err != nil {
			return false, err
		}
		doc.Pos = pos
	}
	if _, err := s.c("messages").InsertOne(ctx, doc); err != nil {
		if isDup(err) {
			return false, nil
		}
		return false, err
	}
	var after struct {
		Seq int64 `bson:"seq"`
	}
	if err := s.c("dialogs").FindOneAndUpdate(ctx, bson.M{"_id": dialogKey(m.AppID, m.DialogID)}, bson.M{"$inc": bson.M{"seq": int64(1)}},
		options.FindOneAndUpdate().SetReturnDocument(options.After)).Decode(&after); err != nil {
		return false, err
	}
	m.Seq = after.Seq
	if _, err := s.c("messages").UpdateOne(ctx, bson.M{"_id": doc.Key}, bson.M{"$set": bson.M{"seq": m.Seq}}); err != nil {
		return false, err
	}
	preview := m.Body
	if preview == "" && len(m.Attachments) > 0 {
		preview = "Attachment"
	}
	if _, err := s.c("dialogs").UpdateOne(ctx, bson.M{"_id": dialogKey(m.AppID, m.DialogID), "last_message_seq": bson.M{"$lt": m.Seq}},
		bson.M{"$set": bson.M{"last_message": preview, "last_message_id": m.ID, "last_message_user_id": m.SenderID, "last_message_date": m.DateSent,
			"last_message_status": "sent", "last_message_seq": m.Seq, "updated_at": nano(m.CreatedAt), "updated_s": m.CreatedAt.Unix()}}); err != nil {
		return false, err
	}
	// Sending implies having read the dialog so far.
	if _, err := s.c("members").UpdateOne(ctx, bson.M{"_id": memberKey(m.AppID, m.SenderID, m.DialogID)}, bson.M{"$max": bson.M{"read_seq": m.Seq}}); err != nil {
		return false, err
	}
	if dialogs.Type(d.Type) == dialogs.Private {
		if _, err := s.c("members").UpdateMany(ctx, bson.M{"app_id": m.AppID, "dialog_id": m.DialogID, "hidden": true}, bson.M{"$set": bson.M{"hidden": false}}); err != nil {
			return false, err
		}
	}
	return true, nil
}

func (s *DB) findMessage(ctx context.Context, f bson.M, opts ...options.Lister[options.FindOneOptions]) (*history.Message, error) {
	var d messageDoc
	if err := s.c("messages").FindOne(ctx, f, opts...).Decode(&d); err != nil {
		if notFound(err) {
			return nil, history.ErrNotFound
		}
		return nil, err
	}
	return d.message(), nil
}

// Message implements history.Store.
func (s *DB) Message(ctx context.Context, app int64, dialogID, id string) (*history.Message, error) {
	return s.findMessage(ctx, bson.M{"_id": messageKey(app, dialogID, id)})
}

// FindMessage implements history.Store.
func (s *DB) FindMessage(ctx context.Context, app, viewer int64, id string) (*history.Message, error) {
	// The copies of an id, newest first, until one is in a dialog the viewer
	// occupies; bounded, as each copy costs a membership lookup.
	cur, err := s.c("messages").Find(ctx, bson.M{"app_id": app, "id": id}, options.Find().SetSort(bson.M{"created_at": -1}).SetLimit(findMessageScan))
	if err != nil {
		return nil, err
	}
	defer cur.Close(ctx)
	for cur.Next(ctx) {
		var d messageDoc
		if err := cur.Decode(&d); err != nil {
			return nil, err
		}
		var m memberDoc
		err := s.c("members").FindOne(ctx, bson.M{"_id": memberKey(app, viewer, d.DialogID)}).Decode(&m)
		if err == nil && m.Occupant {
			return d.message(), nil
		}
		if err != nil && !notFound(err) {
			return nil, err
		}
	}
	if err := cur.Err(); err != nil {
		return nil, err
	}
	return nil, history.ErrNotFound
}

// findMessageScan bounds how many same-id copies FindMessage looks at.
const findMessageScan = 1000

func messageField(f string) (string, byte, bool) {
	switch f {
	case "_id":
		return "id", 's', true
	case "message":
		return "body", 's', true
	case "date_sent":
		return "date_sent", 't', true
	case "sender_id":
		return "sender_id", 'i', true
	case "recipient_id":
		return "recipient_id", 'i', true
	case "attachments.type":
		return "attachment_types", 's', true
	}
	return "", 0, false
}

func (s *DB) memberState(ctx context.Context, app, uid int64, dialogID string) memberDoc {
	var m memberDoc
	s.c("members").FindOne(ctx, bson.M{"_id": memberKey(app, uid, dialogID)}).Decode(&m)
	return m
}

// Messages implements history.Store.
func (s *DB) Messages(ctx context.Context, app, viewer int64, dialogID string, q history.Query) ([]history.Message, error) {
	st := s.memberState(ctx, app, viewer, dialogID)
	and := []bson.M{{"app_id": app}, {"dialog_id": dialogID}, {"seq": bson.M{"$gt": st.ClearedSeq}}}
	hidden, err := s.hiddenIDs(ctx, app, viewer, dialogID)
	if err != nil {
		return nil, err
	}
	if len(hidden) > 0 {
		and = append(and, bson.M{"id": bson.M{"$nin": hidden}})
	}
	for _, f := range q.Filters {
		field, kind, ok := messageField(f.Field)
		if !ok {
			return nil, &dialogs.FilterError{Msg: "unknown filter field " + f.Field}
		}
		c, err := condition(field, kind, f.Op, f.Values)
		if err != nil {
			return nil, err
		}
		and = append(and, c)
	}
	dir := 1
	if q.Desc {
		dir = -1
	}
	docs, err := findAll[messageDoc](ctx, s.c("messages"), bson.M{"$and": and}, options.Find().SetSort(bson.M{"seq": dir}).SetSkip(int64(q.Skip)).SetLimit(int64(q.Limit)))
	if err != nil {
		return nil, err
	}
	readSeq := max(st.ReadSeq, st.ClearedSeq)
	out := make([]history.Message, 0, len(docs))
	for i := range docs {
		m := docs[i].message()
		m.Read = m.SenderID == viewer || m.Seq <= readSeq || slices.Contains(m.ReadIDs, viewer)
		out = append(out, *m)
	}
	return out, s.attachReactions(ctx, app, dialogID, out)
}

func (s *DB) hiddenIDs(ctx context.Context, app, uid int64, dialogID string) ([]string, error) {
	cur, err := s.c("message_hidden").Find(ctx, bson.M{"app_id": app, "user_id": uid, "dialog_id": dialogID})
	if err != nil {
		return nil, err
	}
	var docs []struct {
		ID string `bson:"id"`
	}
	if err := cur.All(ctx, &docs); err != nil {
		return nil, err
	}
	out := make([]string, 0, len(docs))
	for _, d := range docs {
		out = append(out, d.ID)
	}
	return out, nil
}

func (s *DB) attachReactions(ctx context.Context, app int64, dialogID string, msgs []history.Message) error {
	if len(msgs) == 0 {
		return nil
	}
	idx := map[string]int{}
	ids := make([]string, 0, len(msgs))
	for i := range msgs {
		idx[msgs[i].ID] = i
		ids = append(ids, msgs[i].ID)
	}
	cur, err := s.c("reactions").Find(ctx, bson.M{"app_id": app, "dialog_id": dialogID, "message_id": bson.M{"$in": ids}}, options.Find().SetSort(bson.M{"created_at": 1}))
	if err != nil {
		return err
	}
	var docs []struct {
		MessageID string `bson:"message_id"`
		Reaction  string `bson:"reaction"`
		UserID    int64  `bson:"user_id"`
	}
	if err := cur.All(ctx, &docs); err != nil {
		return err
	}
	for _, d := range docs {
		m := &msgs[idx[d.MessageID]]
		if m.Reactions == nil {
			m.Reactions = map[string][]int64{}
		}
		m.Reactions[d.Reaction] = append(m.Reactions[d.Reaction], d.UserID)
	}
	return nil
}

// Receipt implements history.Store.
func (s *DB) Receipt(ctx context.Context, app int64, d *dialogs.Dialog, uid int64, kind string, ids []string) error {
	field := "delivered_ids"
	if kind == history.Read {
		field = "read_ids"
	}
	cur, err := s.Dialog(ctx, app, d.ID)
	if err != nil {
		return err
	}
	st := s.memberState(ctx, app, uid, d.ID)
	sel := bson.M{"app_id": app, "dialog_id": d.ID}
	if len(ids) > 0 {
		sel["id"] = bson.M{"$in": ids}
	} else if kind == history.Read {
		sel["seq"] = bson.M{"$gt": st.ReadSeq}
	}
	if !d.Large {
		upd := bson.M{}
		for k, v := range sel {
			upd[k] = v
		}
		upd["sender_id"] = bson.M{"$ne": uid}
		if _, err := s.c("messages").UpdateMany(ctx, upd, bson.M{"$addToSet": bson.M{field: uid}}); err != nil {
			return err
		}
	}
	if kind == history.Read {
		upTo := cur.Seq
		if len(ids) > 0 {
			var last messageDoc
			if err := s.c("messages").FindOne(ctx, sel, options.FindOne().SetSort(bson.M{"seq": -1})).Decode(&last); err != nil && !notFound(err) {
				return err
			}
			upTo = last.Seq
		}
		if _, err := s.c("members").UpdateOne(ctx, bson.M{"_id": memberKey(app, uid, d.ID)},
			bson.M{"$max": bson.M{"read_seq": upTo}, "$setOnInsert": bson.M{"app_id": app, "user_id": uid, "dialog_id": d.ID, "occupant": false, "hidden": false, "notifications": true, "cleared_seq": int64(0)}},
			options.UpdateOne().SetUpsert(true)); err != nil {
			return err
		}
	}
	touchesLast := cur.LastMessageID != "" && cur.LastMessageUserID != uid && (len(ids) == 0 || slices.Contains(ids, cur.LastMessageID))
	if touchesLast {
		f := bson.M{"_id": dialogKey(app, d.ID), "last_message_id": cur.LastMessageID}
		st := "read"
		if kind == history.Delivered {
			st = "delivered"
			f["last_message_status"] = bson.M{"$in": []any{"sent", "", nil}}
		}
		if _, err := s.c("dialogs").UpdateOne(ctx, f, bson.M{"$set": bson.M{"last_message_status": st}}); err != nil {
			return err
		}
	}
	return nil
}

// EditMessage implements history.Store.
func (s *DB) EditMessage(ctx context.Context, app int64, dialogID, id, body string, at time.Time) error {
	res, err := s.c("messages").UpdateOne(ctx, bson.M{"_id": messageKey(app, dialogID, id)}, bson.M{"$set": bson.M{"body": body, "updated_at": nano(at)}})
	if err != nil {
		return err
	}
	if res.MatchedCount == 0 {
		return history.ErrNotFound
	}
	_, err = s.c("dialogs").UpdateOne(ctx, bson.M{"_id": dialogKey(app, dialogID), "last_message_id": id}, bson.M{"$set": bson.M{"last_message": body}})
	return err
}

// DeleteMessages implements history.Store.
func (s *DB) DeleteMessages(ctx context.Context, app int64, dialogID string, ids []string) error {
	keys := make([]string, 0, len(ids))
	for _, id := range ids {
		keys = append(keys, messageKey(app, dialogID, id))
	}
	if _, err := s.c("messages").DeleteMany(ctx, bson.M{"_id": bson.M{"$in": keys}}); err != nil {
		return err
	}
	if _, err := s.c("reactions").DeleteMany(ctx, bson.M{"app_id": app, "dialog_id": dialogID, "message_id": bson.M{"$in": ids}}); err != nil {
		return err
	}
	d, err := s.Dialog(ctx, app, dialogID)
	if err != nil || !slices.Contains(ids, d.LastMessageID) {
		return err
	}
	var last messageDoc
	err = s.c("messages").FindOne(ctx, bson.M{"app_id": app, "dialog_id": dialogID}, options.FindOne().SetSort(bson.M{"seq": -1})).Decode(&last)
	set := bson.M{"last_message": nil, "last_message_id": nil, "last_message_user_id": int64(0), "last_message_date": int64(0), "last_message_status": nil}
	if err == nil {
		set = bson.M{"last_message": last.Body, "last_message_id": last.ID, "last_message_user_id": last.SenderID, "last_message_date": last.DateSent}
	} else if !notFound(err) {
		return err
	}
	_, err = s.c("dialogs").UpdateOne(ctx, bson.M{"_id": dialogKey(app, dialogID)}, bson.M{"$set": set})
	return err
}

// HideMessages implements history.Store.
func (s *DB) HideMessages(ctx context.Context, app, uid int64, dialogID string, ids []string) error {
	for _, id := range ids {
		_, err := s.c("message_hidden").UpdateOne(ctx, bson.M{"_id": memberKey(app, uid, dialogID) + ":" + id},
			bson.M{"$set": bson.M{"app_id": app, "user_id": uid, "dialog_id": dialogID, "id": id}}, options.UpdateOne().SetUpsert(true))
		if err != nil {
			return err
		}
	}
	return nil
}

// ClearHistory implements history.Store.
func (s *DB) ClearHistory(ctx context.Context, app, uid int64, dialogID string) error {
	d, err := s.Dialog(ctx, app, dialogID)
	if err != nil {
		return err
	}
	_, err = s.c("members").UpdateOne(ctx, bson.M{"_id": memberKey(app, uid, dialogID)},
		bson.M{"$set": bson.M{"cleared_seq": d.Seq}, "$max": bson.M{"read_seq": d.Seq},
			"$setOnInsert": bson.M{"app_id": app, "user_id": uid, "dialog_id": dialogID, "occupant": false, "hidden": false, "notifications": true}},
		options.UpdateOne().SetUpsert(true))
	return err
}

// React implements history.Store.
func (s *DB) React(ctx context.Context, app int64, m *history.Message, uid int64, add, remove string) error {
	key := func(r string) string {
		return messageKey(app, m.DialogID, m.ID) + ":" + r + ":" + strconv.FormatInt(uid, 10)
	}
	if remove != "" {
		if _, err := s.c("reactions").DeleteOne(ctx, bson.M{"_id": key(remove)}); err != nil {
			return err
		}
	}
	if add != "" {
		_, err := s.c("reactions").UpdateOne(ctx, bson.M{"_id": key(add)},
			bson.M{"$setOnInsert": bson.M{"app_id": app, "dialog_id": m.DialogID, "message_id": m.ID, "user_id": uid, "reaction": add, "created_at": nowNano()}},
			options.UpdateOne().SetUpsert(true))
		return err
	}
	return nil
}

// Reactions implements history.Store.
func (s *DB) Reactions(ctx context.Context, app int64, dialogID, id string) (map[string][]int64, error) {
	msgs := []history.Message{{ID: id}}
	if err := s.attachReactions(ctx, app, dialogID, msgs); err != nil {
		return nil, err
	}
	if msgs[0].Reactions == nil {
		return map[string][]int64{}, nil
	}
	return msgs[0].Reactions, nil
}

// UnreadCounts implements history.Store.
func (s *DB) UnreadCounts(ctx context.Context, app, uid int64, dialogIDs []string) (map[string]int64, error) {
	f := bson.M{"app_id": app, "user_id": uid, "occupant": true}
	if len(dialogIDs) > 0 {
		f["dialog_id"] = bson.M{"$in": dialogIDs}
	}
	members, err := findAll[memberDoc](ctx, s.c("members"), f)
	if err != nil {
		return nil, err
	}
	keys := make([]string, 0, len(members))
	for _, m := range members {
		keys = append(keys, dialogKey(app, m.DialogID))
	}
	seqs := map[string]int64{}
	if len(keys) > 0 {
		docs, err := findAll[dialogDoc](ctx, s.c("dialogs"), bson.M{"_id": bson.M{"$in": keys}}, options.Find().SetProjection(bson.M{"id": 1, "seq": 1}))
		if err != nil {
			return nil, err
		}
		for _, d := range docs {
			seqs[d.ID] = d.Seq
		}
	}
	out := map[string]int64{}
	for _, m := range members {
		if seq, ok := seqs[m.DialogID]; ok {
			out[m.DialogID] = max(seq-max(m.ReadSeq, m.ClearedSeq), 0)
		}
	}
	return out, nil
}

// Search implements history.Store with a case-insensitive regular
// expression over the text of messages in the caller's dialogs (MongoDB's
// $text index is not available on FerretDB). It is served by the
// (app, dialog, seq) index per dialog; cost grows with the history of those
// dialogs, so it suits apps with up to a few million messages per user's
// dialogs; beyond that, an external search index is the way.
func (s *DB) Search(ctx context.Context, app, uid int64, q history.SearchQuery) ([]history.Message, error) {
	members, err := findAll[memberDoc](ctx, s.c("members"), bson.M{"app_id": app, "user_id": uid, "occupant": true})
	if err != nil {
		return nil, err
	}
	// Dialogs the searcher cleared are searched only past the clear.
	var mine, whole []string
	var cleared []bson.M
	for _, m := range members {
		if len(q.DialogIDs) > 0 && !slices.Contains(q.DialogIDs, m.DialogID) {
			continue
		}
		mine = append(mine, m.DialogID)
		if m.ClearedSeq > 0 {
			cleared = append(cleared, bson.M{"dialog_id": m.DialogID, "seq": bson.M{"$gt": m.ClearedSeq}})
		} else {
			whole = append(whole, m.DialogID)
		}
	}
	if len(mine) == 0 {
		return nil, nil
	}
	inDialogs := bson.M{"dialog_id": bson.M{"$in": mine}}
	if len(cleared) > 0 {
		if len(whole) > 0 {
			cleared = append(cleared, bson.M{"dialog_id": bson.M{"$in": whole}})
		}
		inDialogs = bson.M{"$or": cleared}
	}
	and := []bson.M{{"app_id": app}, inDialogs, {"body": bson.Regex{Pattern: regexp.QuoteMeta(q.Text), Options: "i"}}}
	if !q.Start.IsZero() {
		and = append(and, bson.M{"date_sent": bson.M{"$gte": q.Start.Unix()}})
	}
	if !q.End.IsZero() {
		and = append(and, bson.M{"date_sent": bson.M{"$lte": q.End.Unix()}})
	}
	docs, err := findAll[messageDoc](ctx, s.c("messages"), bson.M{"$and": and}, options.Find().SetSort(bson.M{"created_at": -1}).SetLimit(int64(q.Limit)))
	if err != nil {
		return nil, err
	}
	ids := make([]string, 0, len(docs))
	for i := range docs {
		ids = append(ids, docs[i].ID)
	}
	// One query for the hits the caller deleted for themselves, not one per hit.
	hidden, err := findAll[struct {
		ID string `bson:"id"`
	}](ctx, s.c("message_hidden"), bson.M{"app_id": app, "user_id": uid, "dialog_id": bson.M{"$in": mine}, "id": bson.M{"$in": ids}})
	if err != nil {
		return nil, err
	}
	gone := make(map[string]bool, len(hidden))
	for _, h := range hidden {
		gone[h.ID] = true
	}
	out := make([]history.Message, 0, len(docs))
	for i := range docs {
		if !gone[docs[i].ID] {
			out = append(out, *docs[i].message())
		}
	}
	return out, nil
}
