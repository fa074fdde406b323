package httpapi_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/parley-chat/parley/accounts"
	"github.com/parley-chat/parley/httpapi"
)

// clientFrom is an HTTP client whose connections come from the loopback
// address src (any 127.x address works on Linux), so one test can play
// several client addresses against a real server.
func clientFrom(src string) *http.Client {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}, Timeout: 5 * time.Second}
	return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DialContext: d.DialContext, DisableKeepAlives: true}}
}

type reply struct {
	code   int
	header http.Header
	body   map[string]any
}

func (e *apiEnv) send(c *http.Client, method, path, token, body string) reply {
	e.t.Helper()
	req, err := http.NewRequest(method, e.url+path, strings.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("CB-Token", token)
	}
	resp, err := c.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var out map[string]any
	json.Unmarshal(b, &out)
	return reply{resp.StatusCode, resp.Header, out}
}

func counterValue(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name {
			return mf.GetMetric()[0].GetCounter().GetValue()
		}
	}
	t.Fatalf("metric %s not registered", name)
	return 0
}

func TestLoginLockout(t *testing.T) {
	clock := time.Unix(1_700_000_000, 0)
	guard := accounts.NewLoginGuard(accounts.LoginGuardConfig{AccountFreeFailures: 5, IPFreeFailures: 20,
		FirstLockout: 30 * time.Second, MaxLockout: 10 * time.Minute, IPRate: -1})
	guard.SetClock(func() time.Time { return clock })
	reg := prometheus.NewRegistry()
	e := newAPI(t, func(c *httpapi.Config) { c.LoginGuard = guard; c.Metrics = reg })
	ctx := context.Background()
	ids := map[string]int64{}
	for _, login := range []string{"alice", "bob"} {
		pw, email := login+"-password", login+"@example.com"
		u, err := e.acc.CreateUser(ctx, e.app.ID, accounts.UserInput{Login: &login, Email: &email, Password: &pw})
		if err != nil {
			t.Fatal(err)
		}
		ids[login] = u.ID
	}
	sessionBody := func(login, password string) string {
		return `{"application_id":` + itoa(e.app.ID) + `,"auth_key":"` + e.app.AuthKey + `","user":{"login":"` + login + `","password":"` + password + `"}}`
	}
	attacker, other := clientFrom("127.0.0.2"), clientFrom("127.0.0.3")

	// 60 wrong passwords in a row: 5 are checked (401), then the account is
	// locked and the rest are refused unchecked (429).
	counts := map[int]int{}
	for range 60 {
		counts[e.send(attacker, "POST", "/session.json", "", sessionBody("alice", "wrong-password")).code]++
	}
	if counts[401] != 6 || counts[429] != 54 {
		t.Fatalf("60 wrong passwords answered %v, want 6 x 401 then 54 x 429", counts)
	}
	// The right password is refused too while the lockout lasts, from any
	// address: the lock is the account's.
	for _, c := range []*http.Client{attacker, other} {
		r := e.send(c, "POST", "/session.json", "", sessionBody("alice", "alice-password"))
		base, _ := r.body["errors"].(map[string]any)["base"].([]any)
		if r.code != 429 || r.header.Get("Retry-After") != "30" || len(base) != 1 || base[0] != "Too many login attempts, retry in 30 seconds" {
			t.Fatalf("right password while locked: %d Retry-After=%q %v", r.code, r.header.Get("Retry-After"), r.body)
		}
	}
	// The lock is on the account, however it is named: by email too, and
	// for XMPP SASL, which names it by user id.
	r := e.send(other, "POST", "/session.json", "", `{"application_id":`+itoa(e.app.ID)+`,"auth_key":"`+e.app.AuthKey+`","user":{"email":"alice@example.com","password":"alice-password"}}`)
	if r.code != 429 {
		t.Fatalf("login by email while locked: %d %v", r.code, r.body)
	}
	if ok, _ := guard.Allow(accounts.AccountByID(e.app.ID, ids["alice"]), netip.MustParseAddr("192.0.2.7")); ok {
		t.Fatal("SASL's key for the account is not locked")
	}
	// Another account from the attacker's address is not locked.
	if r := e.send(attacker, "POST", "/session.json", "", sessionBody("bob", "bob-password")); r.code != 201 {
		t.Fatalf("another account: %d %v", r.code, r.body)
	}
	// Logging in through an app session (POST /login.json) is held to the
	// same lock.
	r = e.send(other, "POST", "/session.json", "", `{"application_id":`+itoa(e.app.ID)+`,"auth_key":"`+e.app.AuthKey+`"}`)
	if r.code != 201 {
		t.Fatalf("app session: %d %v", r.code, r.body)
	}
	appToken := r.body["session"].(map[string]any)["token"].(string)
	if r := e.send(other, "POST", "/login.json", appToken, `{"login":"alice","password":"alice-password"}`); r.code != 429 || r.header.Get("Retry-After") == "" {
		t.Fatalf("login.json while locked: %d %v", r.code, r.body)
	}
	if got := counterValue(t, reg, "parley_http_login_refused_total"); got != 58 {
		t.Fatalf("parley_http_login_refused_total = %v, want 58", got)
	}
	// Once the lockout has passed the right password works.
	clock = clock.Add(30 * time.Second)
	if r := e.send(other, "POST", "/session.json", "", sessionBody("alice", "alice-password")); r.code != 201 {
		t.Fatalf("after the lockout: %d %v", r.code, r.body)
	}
}

func TestLoginGuardLocksAnAddressGuessingManyAccounts(t *testing.T) {
	clock := time.Unix(1_700_000_000, 0)
	guard := accounts.NewLoginGuard(accounts.LoginGuardConfig{AccountFreeFailures: 100, IPFreeFailures: 10,
		FirstLockout: time.Minute, IPRate: -1})
	guard.SetClock(func() time.Time { return clock })
	e := newAPI(t, func(c *httpapi.Config) { c.LoginGuard = guard })
	login, pw := "alice", "alice-password"
	if _, err := e.acc.CreateUser(context.Background(), e.app.ID, accounts.UserInput{Login: &login, Password: &pw}); err != nil {
		t.Fatal(err)
	}
	body := func(login, password string) string {
		return `{"application_id":` + itoa(e.app.ID) + `,"auth_key":"` + e.app.AuthKey + `","user":{"login":"` + login + `","password":"` + password + `"}}`
	}
	attacker := clientFrom("127.0.0.4")
	for i := range 11 {
		if r := e.send(attacker, "POST", "/session.json", "", body("user"+strconv.Itoa(i), "guess-guess")); r.code != 401 {
			t.Fatalf("guess %d: %d %v", i, r.code, r.body)
		}
	}
	if r := e.send(attacker, "POST", "/session.json", "", body("alice", "alice-password")); r.code != 429 || r.header.Get("Retry-After") != "60" {
		t.Fatalf("locked address: %d %v", r.code, r.body)
	}
	if r := e.send(clientFrom("127.0.0.5"), "POST", "/session.json", "", body("alice", "alice-password")); r.code != 201 {
		t.Fatalf("another address: %d %v", r.code, r.body)
	}
}

// TestLimitListenerCapsConnectionsPerAddress: with a cap of 3, a fourth
// connection from one address is closed at accept while another address
// is served; closing one frees a place.
func TestLimitListenerCapsConnectionsPerAddress(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var refused atomic.Int32
	ln = httpapi.LimitListener(ln, httpapi.ConnLimit{PerIP: 3, Refused: func(netip.Addr) { refused.Add(1) }})
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) })}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	addr := ln.Addr().String()
	dialFrom := func(src string) net.Conn {
		t.Helper()
		d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}, Timeout: 5 * time.Second}
		c, err := d.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	// served reports whether a request on c gets an answer.
	served := func(c net.Conn) bool {
		t.Helper()
		c.SetDeadline(time.Now().Add(5 * time.Second))
		if _, err := io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
			return false
		}
		line, err := bufio.NewReader(c).ReadString('\n')
		return err == nil && strings.HasPrefix(line, "HTTP/1.1 204")
	}
	var held []net.Conn
	for range 3 {
		c := dialFrom("127.0.0.8")
		if !served(c) {
			t.Fatal("a connection under the cap was not served")
		}
		held = append(held, c)
	}
	if served(dialFrom("127.0.0.8")) {
		t.Fatal("the fourth connection from one address was served")
	}
	if refused.Load() != 1 {
		t.Fatalf("refused callback ran %d times, want 1", refused.Load())
	}
	if !served(dialFrom("127.0.0.9")) {
		t.Fatal("another address was refused")
	}
	held[0].Close()
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if served(dialFrom("127.0.0.8")) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("closing a connection did not free its place")
		}
	}
	// Exempt addresses have no cap.
	ln2, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln2 = httpapi.LimitListener(ln2, httpapi.ConnLimit{PerIP: 1, Exempt: netip.Addr.IsLoopback})
	srv2 := &http.Server{Handler: srv.Handler}
	go srv2.Serve(ln2)
	t.Cleanup(func() { srv2.Close() })
	addr = ln2.Addr().String()
	for range 3 {
		if !served(dialFrom("127.0.0.8")) {
			t.Fatal("an exempt address was capped")
		}
	}
}

func TestBodyLimitOnEveryRoute(t *testing.T) {
	e := newAPI(t, func(c *httpapi.Config) { c.MaxBody = 1000 })
	admin := httptest.NewServer((&httpapi.Admin{Accounts: e.acc, Token: "admin-token", MaxBody: 1000, Metrics: http.NotFoundHandler()}).Handler())
	t.Cleanup(admin.Close)
	big := `{"name":"` + strings.Repeat("x", 2000) + `"}`
	cases := []struct {
		name, url, method string
		chunked           bool
	}{
		{"session, declared length", e.url + "/session.json", "POST", false},
		{"session, chunked", e.url + "/session.json", "POST", true},
		{"signup", e.url + "/users.json", "POST", true},
		{"unknown route", e.url + "/nope.json", "PUT", false},
		{"admin create app", admin.URL + "/api/apps", "POST", false},
		{"admin create app, chunked", admin.URL + "/api/apps", "POST", true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var body io.Reader = strings.NewReader(big)
			if tc.chunked {
				body = io.MultiReader(body) // unknown length: sent chunked
			}
			req, _ := http.NewRequest(tc.method, tc.url, body)
			req.Header.Set("Authorization", "Bearer admin-token")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var out map[string]any
			json.NewDecoder(resp.Body).Decode(&out)
			if resp.StatusCode != 413 || out["errors"] == nil || !strings.Contains(fmt.Sprint(out["errors"]), "1000 bytes") {
				t.Fatalf("%d %v, want 413 naming the 1000-byte limit", resp.StatusCode, out)
			}
		})
	}
}
