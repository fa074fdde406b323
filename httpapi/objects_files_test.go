package httpapi_test

import (
	"bytes"
	"context"
	"log/slog"
	"net/http/httptest"
	"testing"

	"github.com/parley-chat/parley/accounts"
	"github.com/parley-chat/parley/dialogs"
	"github.com/parley-chat/parley/files"
	"github.com/parley-chat/parley/httpapi"
	"github.com/parley-chat/parley/internal/testenv"
	"github.com/parley-chat/parley/objects"
	"github.com/parley-chat/parley/storage/blobfs"
)

// A custom object's file field names a file of the file store the writer
// may read; anything else is 422 naming the field.
func TestObjectFileFields(t *testing.T) {
	ctx := context.Background()
	db, acc := testStore(t)
	app, _ := acc.CreateApp(ctx, "o", accounts.AppOptions{})
	ds := dialogs.NewService(db, db)
	bb, _ := blobfs.Open(t.TempDir())
	fs := files.NewService(db, bb, ds, []byte("x"))
	objs := objects.NewService(db)
	objs.Files = fs
	if err := objs.DefineClass(ctx, &objects.Class{AppID: app.ID, Name: "Doc", Read: objects.Open, Fields: []objects.Field{{Name: "file", Type: objects.File}}}); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(httpapi.New(httpapi.Config{Accounts: acc, Dialogs: ds, Files: fs, Objects: objs, Log: slog.New(slog.DiscardHandler)}))
	t.Cleanup(srv.Close)
	annID, ann := userToken(t, acc, app, "ann")
	_, ben := userToken(t, acc, app, "ben")
	b, tk, _ := fs.Create(ctx, app.ID, annID, "a.txt", "text/plain", false)
	fs.Upload(ctx, tk, bytes.NewReader([]byte("hello")))
	if _, err := fs.Complete(ctx, app.ID, annID, b.ID, 5); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		token, uid string
		want       int
	}{{ann, b.UID, 201}, {ben, b.UID, 422}, {ann, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", 422}, {ann, "../etc", 422}} {
		if code, body := testenv.REST(t, "POST", srv.URL+"/data/Doc.json", tc.token, `{"file":"`+tc.uid+`"}`); code != tc.want {
			t.Errorf("file %s: %d %s, want %d", tc.uid, code, body, tc.want)
		}
	}
}
