package mongo

import (
	"context"
	"errors"
	"strconv"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/parley-chat/parley/objects"
)

var _ objects.Store = (*DB)(nil)

func init() {
	indexes["objects"] = []mongoIndex{{"app_id", "class", "owner_id"}, {"app_id", "class", "created"}}
}

type classDoc struct {
	Key string        `bson:"_id"`
	C   objects.Class `bson:"c"`
}

type objectDoc struct {
	Key     string         `bson:"_id"`
	AppID   int64          `bson:"app_id"`
	Class   string         `bson:"class"`
	ID      string         `bson:"id"`
	OwnerID int64          `bson:"owner_id"`
	Parent  string         `bson:"parent_id"`
	Created int64          `bson:"created"`
	Updated int64          `bson:"updated"`
	F       map[string]any `bson:"f"`
}

func objectKey(app int64, class, id string) string {
	return strconv.FormatInt(app, 10) + ":" + class + ":" + id
}

// ObjectClass implements objects.Store.
func (s *DB) ObjectClass(ctx context.Context, app int64, name string) (*objects.Class, error) {
	var d classDoc
	if err := s.c("object_classes").FindOne(ctx, bson.M{"_id": objectKey(app, name, "")}).Decode(&d); err != nil {
		if errors.Is(err, mongo.ErrNoDocuments) {
			return nil, objects.ErrNotFound
		}
		return nil, err
	}
	return &d.C, nil
}

// objectField is a field's path in a record document.
func objectField(f string) string {
	switch f {
	case "_id":
		return "id"
	case "user_id":
		return "owner_id"
	case "_parent_id":
		return "parent_id"
	case "created_at":
		return "created"
	case "updated_at":
		return "updated"
	}
	return "f." + f
}

// PutObjectClass implements objects.Store: every scalar field is indexed.
func (s *DB) PutObjectClass(ctx context.Context, c *objects.Class) error {
	if _, err := s.c("object_classes").ReplaceOne(ctx, bson.M{"_id": objectKey(c.AppID, c.Name, "")},
		classDoc{Key: objectKey(c.AppID, c.Name, ""), C: *c}, options.Replace().SetUpsert(true)); err != nil {
		return err
	}
	have, err := s.indexNames(ctx, "objects")
	if err != nil {
		return err
	}
	for _, f := range c.Fields {
		if f.Type == objects.Array || f.Type == objects.Location {
			continue
		}
		name := "app_id_1_class_1_f." + f.Name + "_1"
		if have[name] {
			continue
		}
		keys := bson.D{{Key: "app_id", Value: 1}, {Key: "class", Value: 1}, {Key: "f." + f.Name, Value: 1}}
		if _, err := s.c("objects").Indexes().CreateOne(ctx, mongo.IndexModel{Keys: keys, Options: options.Index().SetName(name)}); err != nil {
			return err
		}
	}
	return nil
}

// ObjectClasses implements objects.Store.
func (s *DB) ObjectClasses(ctx context.Context, app int64) ([]objects.Class, error) {
	docs, err := findAll[classDoc](ctx, s.c("object_classes"), bson.M{"c.app_id": app}, options.Find().SetSort(bson.D{{Key: "_id", Value: 1}}))
	if err != nil {
		return nil, err
	}
	out := make([]objects.Class, len(docs))
	for i := range docs {
		out[i] = docs[i].C
	}
	return out, nil
}

// InsertObjects implements objects.Store.
func (s *DB) InsertObjects(ctx context.Context, app int64, class string, recs []objects.Record) error {
	docs := make([]any, len(recs))
	for i, r := range recs {
		docs[i] = objectDoc{Key: objectKey(app, class, r.ID), AppID: app, Class: class, ID: r.ID, OwnerID: r.OwnerID, Parent: r.Parent,
			Created: r.Created.Unix(), Updated: r.Updated.Unix(), F: r.Fields}
	}
	_, err := s.c("objects").InsertMany(ctx, docs)
	return err
}

// plainValue turns decoded BSON arrays and documents into []any and maps.
func plainValue(v any) any {
	switch x := v.(type) {
	case bson.A:
		out := make([]any, len(x))
		for i := range x {
			out[i] = plainValue(x[i])
		}
		return out
	case []any:
		for i := range x {
			x[i] = plainValue(x[i])
		}
		return x
	case bson.D:
		m := map[string]any{}
		for _, e := range x {
			m[e.Key] = plainValue(e.Value)
		}
		return m
	case bson.M:
		for k := range x {
			x[k] = plainValue(x[k])
		}
		return map[string]any(x)
	case int32:
		return int64(x)
	}
	return v
}

func (d *objectDoc) record() objects.Record {
	f := map[string]any{}
	for k, v := range d.F {
		f[k] = plainValue(v)
	}
	return objects.Record{ID: d.ID, OwnerID: d.OwnerID, Parent: d.Parent, Fields: f, Created: time.Unix(d.Created, 0).UTC(), Updated: time.Unix(d.Updated, 0).UTC()}
}

func (s *DB) findObjects(ctx context.Context, filter bson.M, opts ...options.Lister[options.FindOptions]) ([]objects.Record, error) {
	docs, err := findAll[objectDoc](ctx, s.c("objects"), filter, opts...)
	if err != nil {
		return nil, err
	}
	out := make([]objects.Record, len(docs))
	for i := range docs {
		out[i] = docs[i].record()
	}
	return out, nil
}

// Objects implements objects.Store.
func (s *DB) Objects(ctx context.Context, app int64, class string, ids []string) ([]objects.Record, error) {
	keys := make([]string, len(ids))
	for i, id := range ids {
		keys[i] = objectKey(app, class, id)
	}
	return s.findObjects(ctx, bson.M{"_id": bson.M{"$in": keys}})
}

func objectFilter(c *objects.Class, q objects.Query) bson.M {
	f := bson.M{"app_id": c.AppID, "class": c.Name}
	var and bson.A
	for _, fl := range q.Filters {
		vals := fl.Values
		var cond any
		switch fl.Op {
		case "in", "nin":
			cond = bson.M{"$" + fl.Op: vals}
		default:
			cond = bson.M{"$" + fl.Op: vals[0]}
		}
		and = append(and, bson.M{objectField(fl.Field): cond})
	}
	if len(and) > 0 {
		f["$and"] = and
	}
	return f
}

// FindObjects implements objects.Store.
func (s *DB) FindObjects(ctx context.Context, c *objects.Class, q objects.Query) ([]objects.Record, error) {
	sort := bson.D{{Key: "created", Value: -1}, {Key: "id", Value: 1}}
	if q.Sort != "" {
		dir := 1
		if q.Desc {
			dir = -1
		}
		sort = bson.D{{Key: objectField(q.Sort), Value: dir}, {Key: "id", Value: 1}}
	}
	return s.findObjects(ctx, objectFilter(c, q), options.Find().SetSort(sort).SetLimit(int64(q.Limit)).SetSkip(int64(q.Skip)))
}

// CountObjects implements objects.Store.
func (s *DB) CountObjects(ctx context.Context, c *objects.Class, q objects.Query) (int, error) {
	n, err := s.c("objects").CountDocuments(ctx, objectFilter(c, q))
	return int(n), err
}

// UpdateObject implements objects.Store.
func (s *DB) UpdateObject(ctx context.Context, app int64, class string, r *objects.Record) error {
	res, err := s.c("objects").UpdateOne(ctx, bson.M{"_id": objectKey(app, class, r.ID)}, bson.M{"$set": bson.M{"f": r.Fields, "updated": r.Updated.Unix()}})
	if err != nil {
		return err
	}
	if res.MatchedCount == 0 {
		return objects.ErrNotFound
	}
	return nil
}

// DeleteObjects implements objects.Store.
func (s *DB) DeleteObjects(ctx context.Context, app int64, class string, ids []string) (int, error) {
	keys := make([]string, len(ids))
	for i, id := range ids {
		keys[i] = objectKey(app, class, id)
	}
	res, err := s.c("objects").DeleteMany(ctx, bson.M{"_id": bson.M{"$in": keys}})
	if err != nil {
		return 0, err
	}
	return int(res.DeletedCount), nil
}
