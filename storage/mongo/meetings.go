package mongo

import (
	"context"
	"errors"
	"strconv"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/parley-chat/parley/meetings"
)

var _ meetings.Store = (*DB)(nil)

func init() {
	indexes["meetings"] = []mongoIndex{{"app_id", "host_id"}, {"app_id", "attendee_ids"}, {"app_id", "public"}}
	indexes["whiteboards"] = []mongoIndex{{"app_id", "dialog_id"}}
}

type meetingDoc struct {
	Key       string           `bson:"_id"`
	AppID     int64            `bson:"app_id"`
	HostID    int64            `bson:"host_id"`
	Public    bool             `bson:"public"`
	Start     int64            `bson:"start"`
	Attendees []int64          `bson:"attendee_ids"`
	M         meetings.Meeting `bson:"m"`
}

func appKey(app int64, id string) string { return strconv.FormatInt(app, 10) + ":" + id }

// PutMeeting implements meetings.Store.
func (s *DB) PutMeeting(ctx context.Context, m *meetings.Meeting) error {
	var ids []int64
	for _, a := range m.Attendees {
		if a.ID > 0 {
			ids = append(ids, a.ID)
		}
	}
	doc := meetingDoc{Key: appKey(m.AppID, m.ID), AppID: m.AppID, HostID: m.HostID, Public: m.Public, Start: m.Start, Attendees: nonNil(ids), M: *m}
	_, err := s.c("meetings").ReplaceOne(ctx, bson.M{"_id": doc.Key}, doc, options.Replace().SetUpsert(true))
	return err
}

// Meeting implements meetings.Store.
func (s *DB) Meeting(ctx context.Context, app int64, id string) (*meetings.Meeting, error) {
	var d meetingDoc
	if err := s.c("meetings").FindOne(ctx, bson.M{"_id": appKey(app, id)}).Decode(&d); err != nil {
		if errors.Is(err, mongo.ErrNoDocuments) {
			return nil, meetings.ErrNotFound
		}
		return nil, err
	}
	return &d.M, nil
}

// Meetings implements meetings.Store.
func (s *DB) Meetings(ctx context.Context, app, user int64, limit int) ([]meetings.Meeting, error) {
	docs, err := findAll[meetingDoc](ctx, s.c("meetings"), bson.M{"app_id": app, "$or": bson.A{bson.M{"host_id": user}, bson.M{"public": true}, bson.M{"attendee_ids": user}}},
		options.Find().SetSort(bson.D{{Key: "start", Value: -1}, {Key: "_id", Value: 1}}).SetLimit(int64(limit)))
	if err != nil {
		return nil, err
	}
	out := make([]meetings.Meeting, len(docs))
	for i := range docs {
		out[i] = docs[i].M
	}
	return out, nil
}

// CountHosted implements meetings.Store.
func (s *DB) CountHosted(ctx context.Context, app, user int64) (int, error) {
	n, err := s.c("meetings").CountDocuments(ctx, bson.M{"app_id": app, "host_id": user})
	return int(n), err
}

// DeleteMeeting implements meetings.Store.
func (s *DB) DeleteMeeting(ctx context.Context, app int64, id string) error {
	res, err := s.c("meetings").DeleteOne(ctx, bson.M{"_id": appKey(app, id)})
	if err != nil {
		return err
	}
	if res.DeletedCount == 0 {
		return meetings.ErrNotFound
	}
	return nil
}

type whiteboardDoc struct {
	Key      string              `bson:"_id"`
	AppID    int64               `bson:"app_id"`
	DialogID string              `bson:"dialog_id"`
	W        meetings.Whiteboard `bson:"w"`
}

// PutWhiteboard implements meetings.Store.
func (s *DB) PutWhiteboard(ctx context.Context, w *meetings.Whiteboard) error {
	doc := whiteboardDoc{Key: appKey(w.AppID, w.ID), AppID: w.AppID, DialogID: w.DialogID, W: *w}
	_, err := s.c("whiteboards").ReplaceOne(ctx, bson.M{"_id": doc.Key}, doc, options.Replace().SetUpsert(true))
	return err
}

// Whiteboard implements meetings.Store.
func (s *DB) Whiteboard(ctx context.Context, app int64, id string) (*meetings.Whiteboard, error) {
	var d whiteboardDoc
	if err := s.c("whiteboards").FindOne(ctx, bson.M{"_id": appKey(app, id)}).Decode(&d); err != nil {
		if errors.Is(err, mongo.ErrNoDocuments) {
			return nil, meetings.ErrNotFound
		}
		return nil, err
	}
	return &d.W, nil
}

// Whiteboards implements meetings.Store.
func (s *DB) Whiteboards(ctx context.Context, app int64, dialog string) ([]meetings.Whiteboard, error) {
	docs, err := findAll[whiteboardDoc](ctx, s.c("whiteboards"), bson.M{"app_id": app, "dialog_id": dialog}, options.Find().SetSort(bson.D{{Key: "_id", Value: 1}}))
	if err != nil {
		return nil, err
	}
	out := make([]meetings.Whiteboard, len(docs))
	for i := range docs {
		out[i] = docs[i].W
	}
	return out, nil
}

// DeleteWhiteboard implements meetings.Store.
func (s *DB) DeleteWhiteboard(ctx context.Context, app int64, id string) error {
	res, err := s.c("whiteboards").DeleteOne(ctx, bson.M{"_id": appKey(app, id)})
	if err != nil {
		return err
	}
	if res.DeletedCount == 0 {
		return meetings.ErrNotFound
	}
	return nil
}
