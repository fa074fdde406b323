package mongo

import (
	"context"
	"fmt"
	"math"
	"strconv"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/parley-chat/parley/history"
)

var _ history.MAMStore = (*DB)(nil)

// nextPos numbers the app's private messages in the order they are stored:
// the order of a user's 1-1 archive, which spans dialogs and so cannot be
// a dialog's seq. A counter rather than the creation time, because the
// nodes' clocks differ: a client that synced up to a message must find
// everything stored after it after it.
func (s *DB) nextPos(ctx context.Context, app int64) (int64, error) {
	return s.nextID(ctx, "msgpos:"+strconv.FormatInt(app, 10))
}

// legacyPos places a private message stored before positions existed: in
// creation order, before every counted position.
func legacyPos(createdAt int64) int64 { return createdAt - 1<<62 }

// posMigration marks (in counters) that legacy private messages have
// their positions.
const posMigration = "migration:msgpos"

// backfillPositions gives the private messages stored before positions
// existed theirs, once: a marker keeps later starts from scanning.
func (s *DB) backfillPositions(ctx context.Context) error {
	if n, err := s.c("counters").CountDocuments(ctx, bson.M{"_id": posMigration}); err != nil || n > 0 {
		return err
	}
	cur, err := s.c("messages").Find(ctx, bson.M{"recipient_id": bson.M{"$ne": int64(0)}, "pos": bson.M{"$exists": false}},
		options.Find().SetProjection(bson.M{"_id": 1, "created_at": 1}))
	if err != nil {
		return fmt.Errorf("mongo: find messages without a position: %w", err)
	}
	defer cur.Close(ctx)
	var batch []mongo.WriteModel
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		_, err := s.c("messages").BulkWrite(ctx, batch, options.BulkWrite().SetOrdered(false))
		batch = batch[:0]
		return err
	}
	for cur.Next(ctx) {
		var d struct {
			Key       string `bson:"_id"`
			CreatedAt int64  `bson:"created_at"`
		}
		if err := cur.Decode(&d); err != nil {
			return err
		}
		batch = append(batch, mongo.NewUpdateOneModel().SetFilter(bson.M{"_id": d.Key, "pos": bson.M{"$exists": false}}).
			SetUpdate(bson.M{"$set": bson.M{"pos": legacyPos(d.CreatedAt)}}))
		if len(batch) == 500 {
			if err := flush(); err != nil {
				return fmt.Errorf("mongo: position legacy messages: %w", err)
			}
		}
	}
	if err := cur.Err(); err != nil {
		return err
	}
	if err := flush(); err != nil {
		return fmt.Errorf("mongo: position legacy messages: %w", err)
	}
	// Nodes starting together all get here: the updates above match only
	// messages still without a position, and the marker upsert retries.
	return upsertRetry(func() error {
		_, err := s.c("counters").UpdateOne(ctx, bson.M{"_id": posMigration}, bson.M{"$set": bson.M{"done": true}}, options.UpdateOne().SetUpsert(true))
		return err
	})
}

// ArchiveScan implements history.MAMStore.
func (s *DB) ArchiveScan(ctx context.Context, r history.ArchiveRange) ([]history.Message, error) {
	if r.DialogID != "" {
		return s.dialogArchive(ctx, r)
	}
	return s.privateArchive(ctx, r)
}

// archiveFilters adds the date and id conditions of r to f.
func archiveFilters(r history.ArchiveRange, f bson.M) bson.M {
	date := bson.M{}
	if !r.Start.IsZero() {
		date["$gte"] = r.Start.Unix()
	}
	if !r.End.IsZero() {
		date["$lte"] = r.End.Unix()
	}
	if len(date) > 0 {
		f["date_sent"] = date
	}
	if len(r.IDs) > 0 {
		f["id"] = bson.M{"$in": r.IDs}
	}
	return f
}

// position reads one field of the first message a query finds; none is
// (0, false).
func (s *DB) position(ctx context.Context, field string, f bson.M, sort bson.D) (int64, bool, error) {
	var doc bson.M
	opts := options.FindOne().SetProjection(bson.M{field: 1})
	if sort != nil {
		opts.SetSort(sort)
	}
	err := s.c("messages").FindOne(ctx, f, opts).Decode(&doc)
	if notFound(err) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, err
	}
	v, ok := doc[field].(int64)
	if !ok {
		if i, ok32 := doc[field].(int32); ok32 {
			return int64(i), true, nil
		}
		return 0, false, nil
	}
	return v, true, nil
}

// dialogArchive scans one dialog between two seqs, on (app_id, dialog_id,
// seq).
func (s *DB) dialogArchive(ctx context.Context, r history.ArchiveRange) ([]history.Message, error) {
	lo, hi := s.memberState(ctx, r.AppID, r.Viewer, r.DialogID).ClearedSeq, int64(math.MaxInt64)
	anchor := func(id string) (int64, error) {
		seq, ok, err := s.position(ctx, "seq", bson.M{"_id": messageKey(r.AppID, r.DialogID, id)}, nil)
		if err == nil && !ok {
			err = history.ErrNotFound
		}
		return seq, err
	}
	if r.AfterID != "" {
		seq, err := anchor(r.AfterID)
		if err != nil {
			return nil, err
		}
		lo = max(lo, seq)
	}
	if r.BeforeID != "" {
		seq, err := anchor(r.BeforeID)
		if err != nil {
			return nil, err
		}
		hi = min(hi, seq)
	}
	// Date bounds as seq bounds (see history.ClockSlack): nothing stored
	// before the last message dated ClockSlack before Start is dated Start
	// or later; likewise after End.
	if !r.Start.IsZero() {
		seq, ok, err := s.position(ctx, "seq", bson.M{"app_id": r.AppID, "dialog_id": r.DialogID, "date_sent": bson.M{"$lt": r.Start.Add(-history.ClockSlack).Unix()}},
			bson.D{{Key: "date_sent", Value: -1}})
		if err != nil {
			return nil, err
		}
		if ok {
			lo = max(lo, seq)
		}
	}
	if !r.End.IsZero() {
		seq, ok, err := s.position(ctx, "seq", bson.M{"app_id": r.AppID, "dialog_id": r.DialogID, "date_sent": bson.M{"$gt": r.End.Add(history.ClockSlack).Unix()}},
			bson.D{{Key: "date_sent", Value: 1}})
		if err != nil {
			return nil, err
		}
		if ok {
			hi = min(hi, seq)
		}
	}
	hidden, err := s.hiddenIDs(ctx, r.AppID, r.Viewer, r.DialogID)
	if err != nil {
		return nil, err
	}
	f := archiveFilters(r, bson.M{"app_id": r.AppID, "dialog_id": r.DialogID, "seq": bson.M{"$gt": lo, "$lt": hi}})
	if len(hidden) > 0 {
		if in, ok := f["id"].(bson.M); ok {
			in["$nin"] = hidden
		} else {
			f["id"] = bson.M{"$nin": hidden}
		}
	}
	dir := 1
	if r.Backward {
		dir = -1
	}
	docs, err := findAll[messageDoc](ctx, s.c("messages"), f, options.Find().SetSort(bson.M{"seq": dir}).SetLimit(int64(r.Limit)))
	if err != nil {
		return nil, err
	}
	out := make([]history.Message, 0, len(docs))
	for i := range docs {
		out = append(out, *docs[i].message())
	}
	return out, nil
}

// privateArchive scans the viewer's private messages between two
// positions: the messages they sent and those they received, two index
// ranges in pos order that the server merges. What the viewer hid is
// dropped batch by batch, so the scan reads about a page when nothing is.
func (s *DB) privateArchive(ctx context.Context, r history.ArchiveRange) ([]history.Message, error) {
	lo, hi := int64(math.MinInt64), int64(math.MaxInt64)
	// An id is unique only within its dialog: the newest of the viewer's.
	anchor := func(id string) (int64, error) {
		pos, ok, err := s.position(ctx, "pos", bson.M{"app_id": r.AppID, "id": id, "pos": bson.M{"$exists": true},
			"$or": []bson.M{{"sender_id": r.Viewer}, {"recipient_id": r.Viewer}}}, bson.D{{Key: "pos", Value: -1}})
		if err == nil && !ok {
			err = history.ErrNotFound
		}
		return pos, err
	}
	if r.AfterID != "" {
		pos, err := anchor(r.AfterID)
		if err != nil {
			return nil, err
		}
		lo = pos
	}
	if r.BeforeID != "" {
		pos, err := anchor(r.BeforeID)
		if err != nil {
			return nil, err
		}
		hi = pos
	}
	// Date bounds as pos bounds, over the app's private messages (see
	// dialogArchive).
	if !r.Start.IsZero() {
		pos, ok, err := s.position(ctx, "pos", bson.M{"app_id": r.AppID, "date_sent": bson.M{"$lt": r.Start.Add(-history.ClockSlack).Unix()}, "pos": bson.M{"$exists": true}},
			bson.D{{Key: "date_sent", Value: -1}})
		if err != nil {
			return nil, err
		}
		if ok {
			lo = max(lo, pos)
		}
	}
	if !r.End.IsZero() {
		pos, ok, err := s.position(ctx, "pos", bson.M{"app_id": r.AppID, "date_sent": bson.M{"$gt": r.End.Add(history.ClockSlack).Unix()}, "pos": bson.M{"$exists": true}},
			bson.D{{Key: "date_sent", Value: 1}})
		if err != nil {
			return nil, err
		}
		if ok {
			hi = min(hi, pos)
		}
	}
	// Only private messages have a pos: the range leaves the others out.
	branch := func(field string) bson.M {
		return archiveFilters(r, bson.M{"app_id": r.AppID, field: r.Viewer, "pos": bson.M{"$gt": lo, "$lt": hi}})
	}
	dir := 1
	if r.Backward {
		dir = -1
	}
	cur, err := s.c("messages").Find(ctx, bson.M{"$or": []bson.M{branch("sender_id"), branch("recipient_id")}},
		options.Find().SetSort(bson.M{"pos": dir}).SetBatchSize(int32(r.Limit)))
	if err != nil {
		return nil, err
	}
	defer cur.Close(ctx)
	out := make([]history.Message, 0, r.Limit)
	cleared := map[string]int64{}
	batch := make([]messageDoc, 0, r.Limit)
	for len(out) < r.Limit {
		batch = batch[:0]
		for len(batch) < r.Limit && cur.Next(ctx) {
			var d messageDoc
			if err := cur.Decode(&d); err != nil {
				return nil, err
			}
			batch = append(batch, d)
		}
		if err := cur.Err(); err != nil {
			return nil, err
		}
		if len(batch) == 0 {
			break
		}
		visible, err := s.visibleTo(ctx, r.AppID, r.Viewer, batch, cleared)
		if err != nil {
			return nil, err
		}
		for i := range visible {
			if len(out) < r.Limit {
				out = append(out, *visible[i].message())
			}
		}
		if len(batch) < r.Limit {
			break // the range is exhausted
		}
	}
	return out, nil
}

// visibleTo keeps the messages of docs that viewer neither cleared nor
// deleted for themselves; cleared caches the viewer's clear position per
// dialog across batches.
func (s *DB) visibleTo(ctx context.Context, app, viewer int64, docs []messageDoc, cleared map[string]int64) ([]messageDoc, error) {
	var members, hiddenKeys []string
	for _, d := range docs {
		if _, ok := cleared[d.DialogID]; !ok {
			cleared[d.DialogID] = 0
			members = append(members, memberKey(app, viewer, d.DialogID))
		}
		hiddenKeys = append(hiddenKeys, memberKey(app, viewer, d.DialogID)+":"+d.ID)
	}
	if len(members) > 0 {
		ms, err := findAll[memberDoc](ctx, s.c("members"), bson.M{"_id": bson.M{"$in": members}}, options.Find().SetProjection(bson.M{"dialog_id": 1, "cleared_seq": 1}))
		if err != nil {
			return nil, err
		}
		for _, m := range ms {
			cleared[m.DialogID] = m.ClearedSeq
		}
	}
	hidden, err := findAll[struct {
		Key string `bson:"_id"`
	}](ctx, s.c("message_hidden"), bson.M{"_id": bson.M{"$in": hiddenKeys}}, options.Find().SetProjection(bson.M{"_id": 1}))
	if err != nil {
		return nil, err
	}
	gone := make(map[string]bool, len(hidden))
	for _, h := range hidden {
		gone[h.Key] = true
	}
	out := docs[:0:0]
	for _, d := range docs {
		if d.Seq > cleared[d.DialogID] && !gone[memberKey(app, viewer, d.DialogID)+":"+d.ID] {
			out = append(out, d)
		}
	}
	return out, nil
}

type prefsDoc struct {
	Default string   `bson:"default"`
	Always  []string `bson:"always"`
	Never   []string `bson:"never"`
}

// ArchivePrefs implements history.MAMStore.
func (s *DB) ArchivePrefs(ctx context.Context, app, uid int64) (*history.ArchivePrefs, error) {
	var d prefsDoc
	if err := s.c("archive_prefs").FindOne(ctx, bson.M{"_id": userKeyStr(app, uid)}).Decode(&d); err != nil {
		if notFound(err) {
			return nil, history.ErrNotFound
		}
		return nil, err
	}
	return &history.ArchivePrefs{Default: d.Default, Always: nonNilS(d.Always), Never: nonNilS(d.Never)}, nil
}

// SetArchivePrefs implements history.MAMStore.
func (s *DB) SetArchivePrefs(ctx context.Context, app, uid int64, p *history.ArchivePrefs) error {
	return upsertRetry(func() error {
		_, err := s.c("archive_prefs").UpdateOne(ctx, bson.M{"_id": userKeyStr(app, uid)},
			bson.M{"$set": bson.M{"app_id": app, "user_id": uid, "default": p.Default, "always": nonNilS(p.Always), "never": nonNilS(p.Never)}},
			options.UpdateOne().SetUpsert(true))
		return err
	})
}
