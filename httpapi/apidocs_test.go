package httpapi_test

import (
	"context"
	"net/http"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/parley-chat/parley/accounts"
	"github.com/parley-chat/parley/addressbook"
	"github.com/parley-chat/parley/dialogs"
	"github.com/parley-chat/parley/files"
	"github.com/parley-chat/parley/history"
	"github.com/parley-chat/parley/httpapi"
	"github.com/parley-chat/parley/meetings"
	"github.com/parley-chat/parley/objects"
	"github.com/parley-chat/parley/push"
	"github.com/parley-chat/parley/storage/blobfs"
	"github.com/parley-chat/parley/storage/sqlite"
)

// served lists every route of the REST API (all features on) and of the
// admin API.
func served(t *testing.T) (api, admin []string) {
	db, err := sqlite.Open(context.Background(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	acc := accounts.NewService(db)
	ds := dialogs.NewService(db, db)
	b, _ := blobfs.Open(t.TempDir())
	a := httpapi.New(httpapi.Config{Accounts: acc, Dialogs: ds, History: history.NewArchive(db, ds), Push: push.NewService(db, nil),
		Files: files.NewService(db, b, ds, []byte("x")), Meetings: meetings.NewService(db, ds), AddressBook: addressbook.New(db), Objects: objects.NewService(db)})
	ad := &httpapi.Admin{Accounts: acc, Metrics: http.NotFoundHandler(), Objects: objects.NewService(db)}
	return a.Routes(), ad.Routes()
}

// docs/api.md names exactly the routes served: a route added or removed
// without its documentation fails here.
func TestAPIDocsMatchRoutes(t *testing.T) {
	api, admin := served(t)
	raw, err := os.ReadFile("../docs/api.md")
	if err != nil {
		t.Fatal(err)
	}
	row := regexp.MustCompile("(?m)^\\| `((?:GET|POST|PUT|DELETE|HEAD) /[^`]*)` \\|")
	var documented []string
	for _, m := range row.FindAllStringSubmatch(string(raw), -1) {
		documented = append(documented, m[1])
	}
	want := slices.DeleteFunc(append(api, admin...), func(p string) bool { return !strings.Contains(p, " ") })
	slices.Sort(want)
	slices.Sort(documented)
	for _, p := range want {
		if !slices.Contains(documented, p) {
			t.Errorf("served but not in docs/api.md: %s", p)
		}
	}
	for _, p := range documented {
		if !slices.Contains(want, p) {
			t.Errorf("in docs/api.md but not served: %s", p)
		}
	}
}
