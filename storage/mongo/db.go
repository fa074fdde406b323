// Package mongo is Parley's clustered store on MongoDB (go.mongodb.org/
// mongo-driver/v2). It implements the same interfaces as storage/sqlite and
// passes the same conformance suite (storage/storetest), against real
// MongoDB and against FerretDB. It uses no transactions, text indexes or
// change streams: multi-document changes are ordered so that a crash leaves
// nothing a reader would misread, and uniqueness comes from _id claims.
package mongo

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
	"go.mongodb.org/mongo-driver/v2/mongo/readpref"
	"go.mongodb.org/mongo-driver/v2/mongo/writeconcern"
)

// DB is the MongoDB store.
type DB struct {
	client *mongo.Client
	db     *mongo.Database
}

// Options tune the connection.
type Options struct {
	// WriteConcern: "majority" (default) or a number of nodes.
	WriteConcern string
	// ReadPreference: "primary" (default), "primaryPreferred", "nearest", ...
	ReadPreference string
}

// Open connects to uri, uses database name, and creates the indexes.
func Open(ctx context.Context, uri, name string, o Options) (*DB, error) {
	opts := options.Client().ApplyURI(uri).SetConnectTimeout(10 * time.Second).SetServerSelectionTimeout(10 * time.Second)
	switch o.WriteConcern {
	case "", "majority":
		opts.SetWriteConcern(writeconcern.Majority())
	default:
		var n int
		if _, err := fmt.Sscan(o.WriteConcern, &n); err != nil || n < 0 {
			return nil, fmt.Errorf("mongo: write concern %q: use majority or a number", o.WriteConcern)
		}
		opts.SetWriteConcern(&writeconcern.WriteConcern{W: n})
	}
	if o.ReadPreference != "" {
		mode, err := readpref.ModeFromString(o.ReadPreference)
		if err != nil {
			return nil, fmt.Errorf("mongo: read preference: %w", err)
		}
		rp, err := readpref.New(mode)
		if err != nil {
			return nil, err
		}
		opts.SetReadPreference(rp)
	}
	client, err := mongo.Connect(opts)
	if err != nil {
		return nil, fmt.Errorf("mongo: connect: %w", err)
	}
	s := &DB{client: client, db: client.Database(name)}
	if err := s.Migrate(ctx); err != nil {
		client.Disconnect(context.Background())
		return nil, err
	}
	return s, nil
}

// Close disconnects.
func (s *DB) Close() error { return s.client.Disconnect(context.Background()) }

// Ping reports whether the server answers.
func (s *DB) Ping(ctx context.Context) error { return s.client.Ping(ctx, nil) }

func (s *DB) c(name string) *mongo.Collection { return s.db.Collection(name) }

// findAll decodes every document a query returns.
func findAll[T any](ctx context.Context, c *mongo.Collection, filter any, opts ...options.Lister[options.FindOptions]) ([]T, error) {
	cur, err := c.Find(ctx, filter, opts...)
	if err != nil {
		return nil, err
	}
	var out []T
	if err := cur.All(ctx, &out); err != nil {
		return nil, err
	}
	return out, nil
}

// mongoIndex is an ascending compound index: its field names in order.
type mongoIndex []string

// indexes every query of the API and of routing is served by (lookups by
// _id need none); each file adds its collections' in init.
var indexes = map[string][]mongoIndex{
	"users":    {{"app_id", "full_name"}},
	"sessions": {{"token_hash"}, {"app_id", "user_id", "expires_at"}, {"expires_at"}},
}

// Migrate creates the collections' indexes (idempotent; parley migrate runs
// it).
func (s *DB) Migrate(ctx context.Context) error {
	for coll, list := range indexes {
		// Only the missing ones, one at a time: FerretDB v1 fails a
		// createIndexes that names existing indexes.
		have, err := s.indexNames(ctx, coll)
		if err != nil {
			return fmt.Errorf("mongo: indexes on %s: %w", coll, err)
		}
		for _, fields := range list {
			keys := bson.D{}
			name := ""
			for _, f := range fields {
				keys = append(keys, bson.E{Key: f, Value: 1})
				if name != "" {
					name += "_"
				}
				name += f + "_1"
			}
			if have[name] {
				continue
			}
			if _, err := s.c(coll).Indexes().CreateOne(ctx, mongo.IndexModel{Keys: keys, Options: options.Index().SetName(name)}); err != nil {
				// Nodes starting together create the same indexes; losing
				// that race is fine.
				if have, lerr := s.indexNames(ctx, coll); lerr == nil && have[name] {
					continue
				}
				return fmt.Errorf("mongo: index %s on %s: %w", name, coll, err)
			}
		}
	}
	if err := s.backfillPositions(ctx); err != nil {
		return err
	}
	return s.hashLegacyAuthKeys(ctx)
}

func (s *DB) indexNames(ctx context.Context, coll string) (map[string]bool, error) {
	cur, err := s.c(coll).Indexes().List(ctx)
	if err != nil {
		return nil, err
	}
	var docs []struct {
		Name string `bson:"name"`
	}
	if err := cur.All(ctx, &docs); err != nil {
		return nil, err
	}
	out := map[string]bool{}
	for _, d := range docs {
		out[d.Name] = true
	}
	return out, nil
}

// nextID returns the next value of a named counter (ids for apps, users,
// sessions, ...). findOneAndUpdate with $inc is atomic; see upsertRetry.
func (s *DB) nextID(ctx context.Context, name string) (int64, error) {
	var doc struct {
		N int64 `bson:"n"`
	}
	err := upsertRetry(func() error {
		return s.c("counters").FindOneAndUpdate(ctx, bson.M{"_id": name}, bson.M{"$inc": bson.M{"n": int64(1)}},
			options.FindOneAndUpdate().SetUpsert(true).SetReturnDocument(options.After)).Decode(&doc)
	})
	return doc.N, err
}

// raiseCounter makes a counter at least n, so nextID never hands out an id
// that was given explicitly.
func (s *DB) raiseCounter(ctx context.Context, name string, n int64) error {
	return upsertRetry(func() error {
		_, err := s.c("counters").UpdateOne(ctx, bson.M{"_id": name}, bson.M{"$max": bson.M{"n": n}}, options.UpdateOne().SetUpsert(true))
		return err
	})
}

// upsertRetry runs an upsert again when it lost a race: two upserts of a
// document that does not exist yet may both try to insert it, and the
// loser fails with a duplicate key (E11000) although the document is now
// there to update. Nodes starting together on an empty database hit this.
func upsertRetry(op func() error) error {
	var err error
	for range 3 {
		if err = op(); !isDup(err) {
			return err
		}
	}
	return err
}

func isDup(err error) bool { return mongo.IsDuplicateKeyError(err) }

func notFound(err error) bool { return errors.Is(err, mongo.ErrNoDocuments) }

func nano(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

func fromNano(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n).UTC()
}

// Drop deletes the database (tests).
func (s *DB) Drop(ctx context.Context) error { return s.db.Drop(ctx) }

// RawDatabase exposes the database handle (tests and diagnostics).
func RawDatabase(s *DB) *mongo.Database { return s.db }
