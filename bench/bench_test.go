package bench_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/parley-chat/parley/accounts"
	"github.com/parley-chat/parley/bench"
	"github.com/parley-chat/parley/internal/testenv"
	"github.com/parley-chat/parley/storage/sqlite"
	"github.com/parley-chat/parley/xmpp"
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
		login, pw := fmt.Sprintf("bench%03d", i), "bench-password"
		u, err := acc.CreateUser(ctx, app.ID, accounts.UserInput{Login: &login, Password: &pw})
		if err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			first = u.ID
		}
	}
	srv := xmpp.NewServer(xmpp.Config{Domain: "localhost", Auth: acc, AllowPlaintext: true,
		TLS: testenv.TLSConfig(t)}, xmpp.NewMetrics(prometheus.NewRegistry()))
	a, err := srv.ListenC2S("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
	})
	return &bench.Target{Addr: a.String(), Domain: "localhost", Transport: "tcp", Mechanism: "PLAIN",
		UserPattern: "%d-" + fmt.Sprint(app.ID), PasswordPattern: "bench-password", FirstUser: int(first)}, first
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
