package mongo

import (
	"context"
	"errors"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/parley-chat/parley/files"
)

var _ files.Store = (*DB)(nil)

func init() {
	indexes["blobs"] = []mongoIndex{{"app_id", "id"}, {"app_id", "owner_id", "complete", "id"}, {"complete", "created_at"}}
}

// blobDoc is a blob; its _id is the uid, unique by construction.
type blobDoc struct {
	UID         string   `bson:"_id"`
	ID          int64    `bson:"id"`
	AppID       int64    `bson:"app_id"`
	OwnerID     int64    `bson:"owner_id"`
	Name        string   `bson:"name"`
	ContentType string   `bson:"content_type"`
	Public      bool     `bson:"public"`
	Uploaded    bool     `bson:"uploaded"`
	Complete    bool     `bson:"complete"`
	Size        int64    `bson:"size"`
	Width       int      `bson:"width"`
	Height      int      `bson:"height"`
	Dialogs     []string `bson:"dialogs"`
	CreatedAt   int64    `bson:"created_at"`
	UpdatedAt   int64    `bson:"updated_at"`
}

func (d *blobDoc) blob() files.Blob {
	return files.Blob{ID: d.ID, UID: d.UID, AppID: d.AppID, OwnerID: d.OwnerID, Name: d.Name, ContentType: d.ContentType, Public: d.Public,
		Uploaded: d.Uploaded, Complete: d.Complete, Size: d.Size, Width: d.Width, Height: d.Height, Dialogs: d.Dialogs,
		CreatedAt: fromNano(d.CreatedAt), UpdatedAt: fromNano(d.UpdatedAt)}
}

// CreateBlob implements files.Store. Ids come from a counter; each is
// claimed once (FerretDB v1's $inc is not atomic under concurrency).
func (s *DB) CreateBlob(ctx context.Context, b *files.Blob) error {
	for range 5 {
		id, err := s.nextID(ctx, "blobs")
		if err != nil {
			return err
		}
		if _, err := s.c("blob_ids").InsertOne(ctx, bson.M{"_id": id}); err != nil {
			if isDup(err) {
				continue
			}
			return err
		}
		b.ID = id
		_, err = s.c("blobs").InsertOne(ctx, blobDoc{UID: b.UID, ID: id, AppID: b.AppID, OwnerID: b.OwnerID, Name: b.Name, ContentType: b.ContentType,
			Public: b.Public, Size: b.Size, Dialogs: []string{}, CreatedAt: nano(b.CreatedAt), UpdatedAt: nano(b.UpdatedAt)})
		return err
	}
	return errors.New("mongo: no free blob id after 5 tries")
}

func (s *DB) findBlob(ctx context.Context, filter bson.M) (*files.Blob, error) {
	var d blobDoc
	if err := s.c("blobs").FindOne(ctx, filter).Decode(&d); err != nil {
		if errors.Is(err, mongo.ErrNoDocuments) {
			return nil, files.ErrNotFound
		}
		return nil, err
	}
	b := d.blob()
	return &b, nil
}

// Blob implements files.Store.
func (s *DB) Blob(ctx context.Context, app, id int64) (*files.Blob, error) {
	return s.findBlob(ctx, bson.M{"app_id": app, "id": id})
}

// BlobByUID implements files.Store.
func (s *DB) BlobByUID(ctx context.Context, uid string) (*files.Blob, error) {
	return s.findBlob(ctx, bson.M{"_id": uid})
}

// blobChange runs a conditional update: ErrNotFound without the blob,
// ErrConflict when it is in another state.
func (s *DB) blobChange(ctx context.Context, app, id int64, cond, set bson.M) error {
	f := bson.M{"app_id": app, "id": id}
	for k, v := range cond {
		f[k] = v
	}
	res, err := s.c("blobs").UpdateOne(ctx, f, bson.M{"$set": set})
	if err != nil {
		return err
	}
	if res.MatchedCount == 1 {
		return nil
	}
	if _, err := s.Blob(ctx, app, id); err != nil {
		return err
	}
	return files.ErrConflict
}

// MarkBlobUploaded implements files.Store.
func (s *DB) MarkBlobUploaded(ctx context.Context, app, id, size int64, width, height int, at time.Time) error {
	return s.blobChange(ctx, app, id, bson.M{"uploaded": false},
		bson.M{"uploaded": true, "size": size, "width": width, "height": height, "updated_at": nano(at)})
}

// CompleteBlob implements files.Store.
func (s *DB) CompleteBlob(ctx context.Context, app, id int64, at time.Time) error {
	return s.blobChange(ctx, app, id, bson.M{"uploaded": true, "complete": false}, bson.M{"complete": true, "updated_at": nano(at)})
}

// RenameBlob implements files.Store.
func (s *DB) RenameBlob(ctx context.Context, app, id int64, name string, at time.Time) error {
	return s.blobChange(ctx, app, id, nil, bson.M{"name": name, "updated_at": nano(at)})
}

// AttachBlob implements files.Store.
func (s *DB) AttachBlob(ctx context.Context, app, id int64, dialog string) error {
	res, err := s.c("blobs").UpdateOne(ctx, bson.M{"app_id": app, "id": id}, bson.M{"$addToSet": bson.M{"dialogs": dialog}})
	if err != nil {
		return err
	}
	if res.MatchedCount == 0 {
		return files.ErrNotFound
	}
	return nil
}

// DeleteBlob implements files.Store.
func (s *DB) DeleteBlob(ctx context.Context, app, id int64) error {
	res, err := s.c("blobs").DeleteOne(ctx, bson.M{"app_id": app, "id": id})
	if err != nil {
		return err
	}
	if res.DeletedCount == 0 {
		return files.ErrNotFound
	}
	return nil
}

// Blobs implements files.Store.
func (s *DB) Blobs(ctx context.Context, app, owner int64, limit, skip int) ([]files.Blob, int, error) {
	f := bson.M{"app_id": app, "owner_id": owner, "complete": true}
	total, err := s.c("blobs").CountDocuments(ctx, f)
	if err != nil {
		return nil, 0, err
	}
	docs, err := findAll[blobDoc](ctx, s.c("blobs"), f, options.Find().SetSort(bson.D{{Key: "id", Value: -1}}).SetLimit(int64(limit)).SetSkip(int64(skip)))
	if err != nil {
		return nil, 0, err
	}
	out := make([]files.Blob, len(docs))
	for i := range docs {
		out[i] = docs[i].blob()
	}
	return out, int(total), nil
}

// BlobUsage implements files.Store.
func (s *DB) BlobUsage(ctx context.Context, app int64) (int64, error) {
	cur, err := s.c("blobs").Aggregate(ctx, bson.A{
		bson.M{"$match": bson.M{"app_id": app, "uploaded": true}},
		bson.M{"$group": bson.M{"_id": nil, "n": bson.M{"$sum": "$size"}}},
	})
	if err != nil {
		return 0, err
	}
	var res []struct {
		N int64 `bson:"n"`
	}
	if err := cur.All(ctx, &res); err != nil || len(res) == 0 {
		return 0, err
	}
	return res[0].N, nil
}

// StaleBlobs implements files.Store.
func (s *DB) StaleBlobs(ctx context.Context, before time.Time, limit int) ([]files.Blob, error) {
	docs, err := findAll[blobDoc](ctx, s.c("blobs"), bson.M{"complete": false, "created_at": bson.M{"$lt": nano(before)}},
		options.Find().SetSort(bson.D{{Key: "created_at", Value: 1}}).SetLimit(int64(limit)))
	if err != nil {
		return nil, err
	}
	out := make([]files.Blob, len(docs))
	for i := range docs {
		out[i] = docs[i].blob()
	}
	return out, nil
}

// PendingBlobs implements files.Store.
func (s *DB) PendingBlobs(ctx context.Context, app, owner int64) (int, error) {
	n, err := s.c("blobs").CountDocuments(ctx, bson.M{"app_id": app, "owner_id": owner, "complete": false})
	return int(n), err
}
