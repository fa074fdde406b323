package httpapi_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/parley-chat/parley/accounts"
	"github.com/parley-chat/parley/dialogs"
	"github.com/parley-chat/parley/history"
	"github.com/parley-chat/parley/httpapi"
	"github.com/parley-chat/parley/internal/testenv"
)

// An app numbering dialog types as the documentation does (public 4,
// broadcast 1) and one using the SDK's enum (public 1) both create, list
// and subscribe to public dialogs; broadcast stays the operator's.
func TestDialogTypeNumbering(t *testing.T) {
	ctx := context.Background()
	db, acc := testStore(t)
	ds := dialogs.NewService(db, db)
	srv := httptest.NewServer(httpapi.New(httpapi.Config{Accounts: acc, Dialogs: ds, History: history.NewArchive(db, ds), Log: slog.New(slog.DiscardHandler)}))
	t.Cleanup(srv.Close)
	if _, err := acc.CreateApp(ctx, "bad", accounts.AppOptions{DialogTypes: "mine"}); err == nil {
		t.Fatal("an unknown numbering was taken")
	}
	for _, tc := range []struct {
		numbering         string
		public, broadcast string
	}{{"docs", "4", "1"}, {"sdk", "1", "4"}} {
		app, _ := acc.CreateApp(ctx, tc.numbering, accounts.AppOptions{DialogTypes: tc.numbering})
		_, ann := userToken(t, acc, app, "ann_"+tc.numbering)
		_, ben := userToken(t, acc, app, "ben_"+tc.numbering)
		code, b := testenv.REST(t, "POST", srv.URL+"/chat/Dialog.json", ann, `{"type":`+tc.public+`,"name":"square"}`)
		if code != 201 || !contains(b, `"type":`+tc.public) {
			t.Fatalf("%s: public dialog: %d %s", tc.numbering, code, b)
		}
		id := jsonField(b, "_id")
		if d, _ := ds.Dialog(ctx, app.ID, id); d == nil || d.Type != dialogs.Public {
			t.Fatalf("%s: the model's type: %+v", tc.numbering, d)
		}
		if code, b := testenv.REST(t, "POST", srv.URL+"/chat/Dialog/"+id+"/subscribe.json", ben, ""); code != 200 {
			t.Fatalf("%s: subscribe: %d %s", tc.numbering, code, b)
		}
		if code, b := testenv.REST(t, "GET", srv.URL+"/chat/Dialog.json?type[in]="+tc.public, ben, ""); code != 200 || !contains(b, id) {
			t.Fatalf("%s: filter by type: %d %s", tc.numbering, code, b)
		}
		if code, b := testenv.REST(t, "POST", srv.URL+"/chat/Dialog.json", ann, `{"type":`+tc.broadcast+`,"name":"all"}`); code != 403 {
			t.Fatalf("%s: a user created a broadcast: %d %s", tc.numbering, code, b)
		}
	}
}

func contains(b []byte, s string) bool { return strings.Contains(string(b), s) }

func jsonField(b []byte, k string) string {
	var m map[string]any
	json.Unmarshal(b, &m)
	v, _ := m[k].(string)
	return v
}
