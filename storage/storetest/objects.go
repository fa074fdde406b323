package storetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/parley-chat/parley/objects"
)

// Objects checks custom objects: classes with typed fields, records with
// filters, sort, count, permissions, update operators and deletion.
func Objects(t *testing.T, open func(t *testing.T) objects.Store) {
	ctx := context.Background()
	svc := objects.NewService(open(t))
	const app = 1
	cls := &objects.Class{AppID: app, Name: "Task", Read: objects.Open, Fields: []objects.Field{
		{Name: "title", Type: objects.String}, {Name: "rating", Type: objects.Integer}, {Name: "score", Type: objects.Float},
		{Name: "done", Type: objects.Boolean}, {Name: "tags", Type: objects.Array}, {Name: "due", Type: objects.Date}}}
	if err := svc.DefineClass(ctx, cls); err != nil {
		t.Fatal(err)
	}
	var r *objects.Refusal
	if err := svc.DefineClass(ctx, &objects.Class{AppID: app, Name: "Bad", Fields: []objects.Field{{Name: "x", Type: "blob"}}}); !errors.As(err, &r) {
		t.Fatalf("an unknown field type: %v", err)
	}
	mk := func(user int64, title string, rating float64, done bool, tags ...any) string {
		t.Helper()
		recs, err := svc.Create(ctx, app, user, "Task", []map[string]any{{"title": title, "rating": rating, "score": rating / 2, "done": done, "tags": tags}})
		if err != nil {
			t.Fatal(err)
		}
		return recs[0].ID
	}
	a := mk(1, "alpha", 5, false, "red")
	b := mk(1, "beta", 3, true, "blue", "red")
	c := mk(2, "gamma", 8, false)
	if _, err := svc.Create(ctx, app, 1, "Task", []map[string]any{{"rating": "many"}}); !errors.As(err, &r) || r.Field != "rating" {
		t.Fatalf("a wrong field type: %v", err)
	}
	if _, err := svc.Create(ctx, app, 1, "Task", []map[string]any{{"colour": "red"}}); !errors.As(err, &r) || r.Field != "colour" {
		t.Fatalf("an unknown field: %v", err)
	}
	if _, err := svc.Create(ctx, app, 1, "Nope", []map[string]any{{}}); !errors.As(err, &r) || r.Field != "class" {
		t.Fatalf("an unknown class: %v", err)
	}
	titles := func(params map[string][]string, sort string, desc bool) string {
		t.Helper()
		fs, err := cls.ParseFilters(params, nil)
		if err != nil {
			t.Fatal(err)
		}
		recs, _, err := svc.List(ctx, app, 3, "Task", objects.Query{Filters: fs, Sort: sort, Desc: desc, Limit: 100}, false)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, rec := range recs {
			out = append(out, rec.Fields["title"].(string))
		}
		return fmt.Sprint(out)
	}
	for _, tc := range []struct {
		params map[string][]string
		sort   string
		want   string
	}{
		{map[string][]string{"rating[gt]": {"4"}}, "rating", "[alpha gamma]"},
		{map[string][]string{"done": {"true"}}, "", "[beta]"},
		{map[string][]string{"title[in]": {"alpha,gamma"}}, "title", "[alpha gamma]"},
		{map[string][]string{"tags": {"red"}}, "title", "[alpha beta]"},
		{map[string][]string{"score[lt]": {"2.5"}}, "", "[beta]"},
		{map[string][]string{"user_id": {"2"}}, "", "[gamma]"},
		{nil, "rating", "[beta alpha gamma]"},
	} {
		if got := titles(tc.params, tc.sort, false); got != tc.want {
			t.Errorf("filter %v sort %s: %s, want %s", tc.params, tc.sort, got, tc.want)
		}
	}
	if got := titles(nil, "rating", true); got != "[gamma alpha beta]" {
		t.Errorf("sort desc: %s", got)
	}
	if _, err := cls.ParseFilters(map[string][]string{"rating[like]": {"1"}}, nil); !errors.As(err, &r) {
		t.Fatalf("an unknown operator: %v", err)
	}
	if _, n, _ := svc.List(ctx, app, 3, "Task", objects.Query{}, true); n != 3 {
		t.Fatalf("count: %d", n)
	}
	// Updates: the owner only; operators.
	if _, err := svc.Update(ctx, app, 2, "Task", a, objects.Ops{Set: map[string]any{"title": "mine"}}); !errors.Is(err, objects.ErrForbidden) {
		t.Fatalf("someone else's update: %v", err)
	}
	up, err := svc.Update(ctx, app, 1, "Task", a, objects.Ops{Set: map[string]any{"title": "alpha 2"}, Inc: map[string]any{"rating": float64(2)},
		Push: map[string]any{"tags": "green"}, AddToSet: map[string]any{}, Pull: map[string]any{}})
	if err != nil || up.Fields["rating"] != int64(7) || up.Fields["title"] != "alpha 2" || !slices.Equal(up.Fields["tags"].([]any), []any{"red", "green"}) {
		t.Fatalf("update: %+v %v", up, err)
	}
	up, _ = svc.Update(ctx, app, 1, "Task", a, objects.Ops{AddToSet: map[string]any{"tags": "green"}, Pull: map[string]any{"tags": "red"}})
	if fmt.Sprint(up.Fields["tags"]) != "[green]" {
		t.Fatalf("add_to_set and pull: %v", up.Fields["tags"])
	}
	got, err := svc.Get(ctx, app, 3, "Task", []string{a, "missing"})
	if err != nil || len(got) != 1 || got[0].Fields["rating"] != int64(7) {
		t.Fatalf("read back: %+v %v", got, err)
	}
	// Deletion: one's own; by criteria.
	del, nf, forb, err := svc.Delete(ctx, app, 1, "Task", []string{c, b, "missing"})
	if err != nil || fmt.Sprint(del, nf, forb) != fmt.Sprint([]string{b}, []string{"missing"}, []string{c}) {
		t.Fatalf("delete: %v %v %v %v", del, nf, forb, err)
	}
	fs, _ := cls.ParseFilters(map[string][]string{"rating[gte]": {"0"}}, nil)
	if n, err := svc.DeleteByCriteria(ctx, app, 2, "Task", objects.Query{Filters: fs}); err != nil || n != 1 {
		t.Fatalf("delete by criteria (one's own): %d %v", n, err)
	}
	if _, n, _ := svc.List(ctx, app, 3, "Task", objects.Query{}, true); n != 1 {
		t.Fatalf("left: %d", n)
	}
	// The records a user owns in a class are capped; others' do not count.
	svc.PerUser = 3
	mk(4, "one", 1, false)
	if _, err := svc.Create(ctx, app, 4, "Task", []map[string]any{{"title": "two"}, {"title": "three"}, {"title": "four"}}); !errors.As(err, &r) || r.Field != "base" {
		t.Fatalf("a batch over the per-user cap: %v", err)
	}
	mk(4, "two", 2, false)
	mk(4, "three", 3, false)
	if _, err := svc.Create(ctx, app, 4, "Task", []map[string]any{{"title": "four"}}); !errors.As(err, &r) || r.Field != "base" {
		t.Fatalf("a record over the per-user cap: %v", err)
	}
	mk(5, "theirs", 1, false)
}
