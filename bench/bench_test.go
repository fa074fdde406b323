package bench_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"os"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/parley-chat/parley/accounts"
	"github.com/parley-chat/parley/bench"
	"github.com/parley-chat/parley/dialogs"
	"github.com/parley-chat/parley/history"
	"github.com/parley-chat/parley/httpapi"
	"github.com/parley-chat/parley/internal/testenv"
	"github.com/parley-chat/parley/storage/sqlite"
	"github.com/parley-chat/parley/xmpp"
	"github.com/parley-chat/parley/xmpp/modules"
)

func server(t *testing.T, users int) (*bench.Target, int64) {
	ctx := context.Background()
	db, err := sqlite.Open(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	acc := accounts.NewService(db)
	acc.Iterations = 1000
	app, _ := acc.CreateApp(ctx, "bench", accounts.AppOptions{})
	var first int64
	for i := 0; i < users; i++ {
		login, pw := fmt.Sprintf("bench%d", i), "bench-password"
		u, err := acc.CreateUser(ctx, app.ID, accounts.UserInput{Login: &login, Password: &pw})
		if err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			first = u.ID
		}
	}
	ds := dialogs.NewService(db, db)
	archive := history.NewArchive(db, ds)
	srv := xmpp.NewServer(xmpp.Config{Domain: "localhost", Auth: acc, Accounts: acc, AllowPlaintext: true, Modules: modules.Standard(modules.Deps{}),
		Dialogs: ds, History: archive, Offline: db, TLS: testenv.TLSConfig(t)}, xmpp.NewMetrics(prometheus.NewRegistry()))
	a, err := srv.ListenC2S("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
	})
	api := httptest.NewServer(httpapi.New(httpapi.Config{Accounts: acc, Dialogs: ds, History: archive, Live: srv,
		MUCDomain: "muc.localhost", Log: slog.New(slog.DiscardHandler)}))
	t.Cleanup(api.Close)
	return &bench.Target{Addr: a.String(), Domain: "localhost", Transport: "tcp", Mechanism: "PLAIN",
		UserPattern: "%d-" + fmt.Sprint(app.ID), PasswordPattern: "bench-password", FirstUser: int(first),
		REST: &bench.REST{URL: api.URL, AppID: app.ID, AuthKey: app.AuthKey, LoginPattern: "bench%d"}}, first
}

func TestConnectAndChat(t *testing.T) {
	target, _ := server(t, 30)
	r, err := bench.Connect(target, bench.Options{Server: "parley", Users: 30, Workers: 8, Hold: time.Millisecond, PID: os.Getpid()})
	if err != nil {
		t.Fatal(err)
	}
	if r.Logins != 30 || r.LoginFailures != 0 || r.LoginsPerSec <= 0 {
		t.Fatalf("connect %+v", r)
	}
	c, err := bench.Chat(target, bench.Options{Server: "parley", Users: 20, Interval: 100 * time.Millisecond, Duration: 2 * time.Second, PID: os.Getpid()})
	if err != nil {
		t.Fatal(err)
	}
	if c.Sent < 300 || c.Lost != 0 || c.Duplicated != 0 || c.P99ms <= 0 || c.ServerCPUs <= 0 {
		t.Fatalf("chat %+v", c)
	}
}

// TestSCRAMLogins: the tool's own SCRAM client logs in under both hashes
// (it checks the server's signature), and a wrong password is refused.
func TestSCRAMLogins(t *testing.T) {
	target, _ := server(t, 4)
	for _, mech := range []string{"SCRAM-SHA-1", "SCRAM-SHA-256"} {
		tg := *target
		tg.Mechanism = mech
		r, err := bench.Connect(&tg, bench.Options{Users: 4, Workers: 2, Hold: time.Millisecond})
		if err != nil || r.Logins != 4 || r.LoginFailures != 0 {
			t.Fatalf("%s: %+v %v", mech, r, err)
		}
		tg.PasswordPattern = "wrong-password"
		if r, _ := bench.Connect(&tg, bench.Options{Users: 1, Hold: time.Millisecond}); r.LoginFailures != 1 {
			t.Fatalf("%s: wrong password accepted: %+v", mech, r)
		}
	}
}

// TestChatRamp: each offered rate runs in turn; every step the server
// keeps up with is sustained, and the result is the last of them.
func TestChatRamp(t *testing.T) {
	target, _ := server(t, 10)
	r, err := bench.Chat(target, bench.Options{Users: 10, Rates: []float64{50, 100}, Duration: time.Second, MaxP99: 1000})
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Steps) != 2 || !r.Steps[0].Sustained || !r.Steps[1].Sustained || r.Scenario != "chat-max" || r.MsgsPerSec < 60 {
		t.Fatalf("ramp %+v", r)
	}
	// A limit no server meets stops the ramp at its first step.
	r, err = bench.Chat(target, bench.Options{Users: 10, Rates: []float64{50, 100}, Duration: time.Second, MaxP99: 1e-9})
	if err != nil || len(r.Steps) != 1 || r.Steps[0].Sustained || r.MsgsPerSec != 0 {
		t.Fatalf("unsustainable ramp %+v %v", r, err)
	}
}

// TestGroup: Parley rooms made over HTTP; every member but the sender
// gets each message once.
func TestGroup(t *testing.T) {
	target, _ := server(t, 12)
	r, err := bench.Group(target, bench.Options{Users: 12, Members: 4, RoomMode: "parley", SaveToHistory: true,
		Interval: 100 * time.Millisecond, Duration: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if r.Rooms != 3 || r.Sent < 45 || r.Received != r.Sent*3 || r.Lost != 0 || r.Duplicated != 0 || r.P99ms <= 0 {
		t.Fatalf("group %+v", r)
	}
}

// TestResume: sessions cut every 100 ms resume, and nothing is lost or
// delivered twice across the cuts.
func TestResume(t *testing.T) {
	target, _ := server(t, 10)
	r, err := bench.Resume(target, bench.Options{Users: 10, Interval: 50 * time.Millisecond, Duration: 3 * time.Second,
		DropEvery: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if r.Drops < 20 || r.Resumes < r.Drops/2 || r.Sent < 400 || r.Lost != 0 || r.Duplicated != 0 || r.Errors != 0 {
		t.Fatalf("resume %+v", r)
	}
}

// TestHistory: dialog-list and history pages over HTTP, all answered.
func TestHistory(t *testing.T) {
	target, _ := server(t, 6)
	r, err := bench.History(target, bench.Options{Users: 6, Workers: 4, Seed: 20, Page: 10, Duration: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if r.Received < 20 || r.Errors != 0 || r.P99ms <= 0 {
		t.Fatalf("history %+v", r)
	}
	target.REST = nil
	if _, err := bench.History(target, bench.Options{Users: 2}); err == nil {
		t.Fatal("history without an HTTP API ran")
	}
}

func TestOnlyLoopbackTargets(t *testing.T) {
	for addr, ok := range map[string]bool{"127.0.0.1:5222": true, "[::1]:5222": true, "localhost:5222": true, "10.0.0.1:5222": false, "192.168.1.2:5222": false, "8.8.8.8:5222": false} {
		err := bench.CheckLoopback(addr)
		if (err == nil) != ok {
			t.Errorf("%s: %v", addr, err)
		}
	}
	if _, err := bench.Connect(&bench.Target{Addr: "10.1.2.3:5222"}, bench.Options{}); !errors.Is(err, bench.ErrNotLoopback) {
		t.Fatalf("non-loopback target accepted: %v", err)
	}
}
