package httpapi_test

import (
	"context"
	"log/slog"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/parley-chat/parley/accounts"
	"github.com/parley-chat/parley/httpapi"
	"github.com/parley-chat/parley/internal/testenv"
)

// Guest sessions: refused by name where the app does not allow them; where
// it does, a new user marked a guest whose token works, removed (token and
// all) once idle.
func TestGuestSessions(t *testing.T) {
	ctx := context.Background()
	_, acc := testStore(t)
	srv := httptest.NewServer(httpapi.New(httpapi.Config{Accounts: acc, Log: slog.New(slog.DiscardHandler)}))
	t.Cleanup(srv.Close)
	closed, _ := acc.CreateApp(ctx, "closed", accounts.AppOptions{})
	open, _ := acc.CreateApp(ctx, "open", accounts.AppOptions{Guests: true})
	guest := func(app *accounts.App, name string) (int, []byte) {
		return testenv.REST(t, "POST", srv.URL+"/session.json", "", `{"application_id":`+strconv.FormatInt(app.ID, 10)+`,"auth_key":"`+app.AuthKey+`","user":{"guest":"1","full_name":"`+name+`"}}`)
	}
	if code, b := guest(closed, "Visitor"); code != 422 || !strings.Contains(string(b), "guest") {
		t.Fatalf("a guest where guests are off: %d %s", code, b)
	}
	if code, b := guest(open, ""); code != 422 {
		t.Fatalf("a guest without a name: %d %s", code, b)
	}
	code, b := guest(open, "Visitor")
	if code != 201 || !strings.Contains(string(b), `"is_guest":true`) || !strings.Contains(string(b), `"full_name":"Visitor"`) {
		t.Fatalf("a guest session: %d %s", code, b)
	}
	tok := strings.SplitN(strings.SplitN(string(b), `"token":"`, 2)[1], `"`, 2)[0]
	if code, _ := testenv.REST(t, "GET", srv.URL+"/session.json", tok, ""); code != 200 {
		t.Fatalf("the guest's token: %d", code)
	}
	acc.SetClock(func() time.Time { return time.Now().Add(48 * time.Hour) })
	gone, err := acc.SweepGuests(ctx, 24*time.Hour, 100)
	if err != nil || len(gone) != 1 {
		t.Fatalf("swept %v: %v", gone, err)
	}
	acc.SetClock(time.Now)
	if code, _ := testenv.REST(t, "GET", srv.URL+"/session.json", tok, ""); code != 401 {
		t.Fatalf("a removed guest's token: %d", code)
	}
}
