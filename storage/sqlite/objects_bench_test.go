package sqlite

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/parley-chat/parley/objects"
)

// BenchmarkObjectsList1M: a filtered, sorted page of 100 from a class of
// 1,000,000 records (rating is indexed as every scalar field is): the
// records with a given city and a rating above a bound, by rating.
func BenchmarkObjectsList1M(b *testing.B) {
	ctx := context.Background()
	db, err := Open(ctx, b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	svc := objects.NewService(db)
	cls := &objects.Class{AppID: 1, Name: "Place", Read: objects.Open, Fields: []objects.Field{
		{Name: "city", Type: objects.String}, {Name: "rating", Type: objects.Integer}, {Name: "title", Type: objects.String}}}
	if err := svc.DefineClass(ctx, cls); err != nil {
		b.Fatal(err)
	}
	total, batch := benchObjects(), 5_000
	r := rand.New(rand.NewPCG(1, 2))
	now := time.Now().UTC()
	start := time.Now()
	for i := 0; i < total; i += batch {
		recs := make([]objects.Record, batch)
		for j := range recs {
			n := i + j
			recs[j] = objects.Record{ID: fmt.Sprintf("%024x", n), OwnerID: int64(n%1000 + 1), Created: now, Updated: now,
				Fields: map[string]any{"city": "city" + strconv.Itoa(r.IntN(1000)), "rating": int64(r.IntN(100_000)), "title": "place " + strconv.Itoa(n)}}
		}
		if err := db.InsertObjects(ctx, 1, "Place", recs); err != nil {
			b.Fatal(err)
		}
	}
	b.Logf("seeded %d records in %s", total, time.Since(start).Round(time.Second))
	q := func(i int) objects.Query {
		fs, err := cls.ParseFilters(map[string][]string{"city": {"city" + strconv.Itoa(i%1000)}, "rating[gt]": {"50000"}}, nil)
		if err != nil {
			b.Fatal(err)
		}
		return objects.Query{Filters: fs, Sort: "rating", Limit: 100}
	}
	i := 0
	percentiles(b, 1000, func() {
		recs, _, err := svc.List(ctx, 1, 7, "Place", q(i), false)
		if err != nil || len(recs) == 0 {
			b.Fatalf("%d records: %v", len(recs), err)
		}
		i++
	})
}

// benchObjects is the class size: 1,000,000, or OBJECTS_BENCH_N.
func benchObjects() int {
	if n, err := strconv.Atoi(os.Getenv("OBJECTS_BENCH_N")); err == nil && n > 0 {
		return n
	}
	return 1_000_000
}
