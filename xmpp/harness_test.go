package xmpp_test

import (
	"context"
	"crypto/tls"
	"encoding/base64"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/prometheus/client_golang/prometheus"
	"mellium.im/sasl"

	"github.com/parley-chat/parley/accounts"
	"github.com/parley-chat/parley/files"
	"github.com/parley-chat/parley/history"
	"github.com/parley-chat/parley/internal/testenv"
	"github.com/parley-chat/parley/privatexml"
	"github.com/parley-chat/parley/pubsub"
	"github.com/parley-chat/parley/rosters"
	"github.com/parley-chat/parley/storage/blobfs"
	"github.com/parley-chat/parley/storage/sqlite"
	"github.com/parley-chat/parley/xmpp"
	"github.com/parley-chat/parley/xmpp/modules"
	"github.com/parley-chat/parley/xmpp/wire"
)

// env is a running server on loopback with a real store.
type env struct {
	t               testing.TB
	srv             *xmpp.Server
	acc             *accounts.Service
	app             *accounts.App
	c2s, c2sTLS, ws string
	domain          string
	cfg             xmpp.Config
	db              *sqlite.DB
}

func testTLS(t testing.TB) *tls.Config { return testenv.TLSConfig(t) }

func newEnv(t testing.TB, tweak func(*xmpp.Config)) *env {
	t.Helper()
	return newEnvWith(t, func(_ *sqlite.DB, cfg *xmpp.Config) {
		if tweak != nil {
			tweak(cfg)
		}
	})
}

// newEnvWith lets the caller wire more onto the store and config.
func newEnvWith(t testing.TB, tweak func(*sqlite.DB, *xmpp.Config)) *env {
	t.Helper()
	ctx := context.Background()
	db, err := sqlite.Open(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	acc := accounts.NewService(db)
	acc.Iterations = 4096
	app, err := acc.CreateApp(ctx, "test", accounts.AppOptions{})
	if err != nil {
		t.Fatal(err)
	}
	cfg := xmpp.Config{Domain: "localhost", TLS: testTLS(t), Auth: acc, WSSecure: true}
	tweak(db, &cfg)
	deps := modules.Deps{Privacy: cfg.Privacy, History: cfg.History, Accounts: cfg.Accounts, Dialogs: cfg.Dialogs}
	if cfg.Dialogs != nil {
		deps.MAM = history.NewMAM(db, cfg.Dialogs)
		cfg.Archiving = deps.MAM
		deps.Rosters = rosters.NewService(db, db, "localhost")
		deps.PrivateXML = privatexml.New(db)
		deps.Pubsub = pubsub.NewService(db)
		blobs, err := blobfs.Open(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		deps.Files = files.NewService(db, blobs, cfg.Dialogs, []byte("test"))
	}
	cfg.Modules = append(modules.Standard(deps), cfg.Modules...)
	e := &env{t: t, acc: acc, app: app, domain: "localhost", cfg: cfg, db: db}
	e.start()
	return e
}

// start runs a server with e's config on fresh loopback ports.
func (e *env) start() {
	t := e.t
	srv := xmpp.NewServer(e.cfg, xmpp.NewMetrics(prometheus.NewRegistry()))
	e.srv = srv
	a1, err := srv.ListenC2S("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	a2, err := srv.ListenC2STLS("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	a3, err := srv.ListenWS("127.0.0.1:0", false)
	if err != nil {
		t.Fatal(err)
	}
	e.c2s, e.c2sTLS, e.ws = a1.String(), a2.String(), a3.String()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
	})
}

// crashAndRestart stops the server as kill -9 would (nothing cleaned up,
// only what the store holds survives) and starts a new one on the same store.
func (e *env) crashAndRestart() {
	e.srv.Crash()
	e.start()
}

// user creates a user and returns its SASL name ("<id>-<app>").
func (e *env) user(login, password string) (string, *accounts.User) {
	e.t.Helper()
	u, err := e.acc.CreateUser(context.Background(), e.app.ID, accounts.UserInput{Login: &login, Password: &password})
	if err != nil {
		e.t.Fatal(err)
	}
	return fmt.Sprintf("%d-%d", u.ID, e.app.ID), u
}

// client is a raw XMPP client for tests: it writes what it is told and reads
// whole elements with the server's own framer.
type client struct {
	t      testing.TB
	nc     net.Conn
	wc     *websocket.Conn
	msgs   chan []byte // WebSocket messages, read by a pump goroutine
	framed bool
	split  wire.Splitter
	buf    []byte
	rbuf   []byte // socket reads land here; kept so a read allocates nothing
	jid    string
}

type transportKind int

const (
	viaSTARTTLS transportKind = iota
	viaTLS
	viaWS
)

func (k transportKind) String() string { return [...]string{"starttls", "tls", "websocket"}[k] }

func (e *env) dial(k transportKind) *client {
	e.t.Helper()
	c := e.dialRaw(k)
	c.open(e.domain)
	if k == viaSTARTTLS {
		c.expect("features", "starttls")
		c.send(`<starttls xmlns="urn:ietf:params:xml:ns:xmpp-tls"/>`)
		c.expect("proceed", "")
		tc := tls.Client(c.nc, &tls.Config{InsecureSkipVerify: true})
		if err := tc.Handshake(); err != nil {
			e.t.Fatal(err)
		}
		c.nc = tc
		c.buf = c.buf[:0]
		c.open(e.domain)
	}
	return c
}

func (c *client) open(to string) {
	c.split.Reset()
	if c.framed {
		c.send(`<open xmlns="urn:ietf:params:xml:ns:xmpp-framing" to="` + to + `" version="1.0"/>`)
		c.expect("open", "")
		return
	}
	c.split.Header = true
	c.send(`<?xml version='1.0'?><stream:stream xmlns="jabber:client" xmlns:stream="http://etherx.jabber.org/streams" to="` + to + `" version="1.0">`)
	if k, _ := c.readUnit(5 * time.Second); k != wire.KindStreamOpen {
		c.t.Fatalf("expected a stream header, got kind %d", k)
	}
}

// startWS reads messages on a goroutine: coder/websocket closes the
// connection when a read deadline passes mid-read.
func (c *client) startWS(wc *websocket.Conn) {
	wc.SetReadLimit(4 << 20)
	c.wc, c.framed = wc, true
	c.nc = websocket.NetConn(context.Background(), wc, websocket.MessageText)
	c.msgs = make(chan []byte, 64)
	go func() {
		defer close(c.msgs)
		for {
			_, b, err := wc.Read(context.Background())
			if err != nil {
				return
			}
			c.msgs <- b
		}
	}()
}

func (c *client) send(s string) {
	c.t.Helper()
	if c.wc != nil {
		if err := c.wc.Write(context.Background(), websocket.MessageText, []byte(s)); err != nil {
			c.t.Fatalf("write: %v", err)
		}
		return
	}
	c.nc.SetWriteDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.nc.Write([]byte(s)); err != nil {
		c.t.Fatalf("write: %v", err)
	}
}

// readUnit reads the next non-space unit; kind 0 on timeout or EOF.
func (c *client) readUnit(d time.Duration) (wire.Kind, string) {
	deadline := time.Now().Add(d)
	for {
		if len(c.buf) > 0 {
			n, kind, err := c.split.Next(c.buf)
			if err != nil {
				c.t.Fatalf("client framer: %v in %q", err, c.buf)
			}
			if n > 0 {
				s := string(c.buf[:n])
				c.buf = append(c.buf[:0], c.buf[n:]...)
				if kind == wire.KindSpace {
					continue
				}
				return kind, s
			}
		}
		if c.msgs != nil {
			select {
			case b, ok := <-c.msgs:
				if !ok {
					return 0, ""
				}
				c.buf = append(c.buf, b...)
				continue
			case <-time.After(time.Until(deadline)):
				return 0, ""
			}
		}
		c.nc.SetReadDeadline(deadline)
		if c.rbuf == nil {
			c.rbuf = make([]byte, 64<<10)
		}
		n, err := c.nc.Read(c.rbuf)
		c.buf = append(c.buf, c.rbuf[:n]...)
		if err != nil && n == 0 {
			return 0, ""
		}
	}
}

// read returns the next element's text, failing the test on timeout.
func (c *client) read() string {
	c.t.Helper()
	k, s := c.readUnit(5 * time.Second)
	if k == 0 {
		c.t.Fatal("timed out waiting for an element")
	}
	return s
}

// expect reads one element whose name is name and which contains sub.
func (c *client) expect(name, sub string) string {
	c.t.Helper()
	s := c.read()
	if !strings.HasPrefix(s, "<"+name) && !strings.HasPrefix(s, "<stream:"+name) {
		c.t.Fatalf("expected <%s>, got %s", name, s)
	}
	if !strings.Contains(s, sub) {
		c.t.Fatalf("expected %q in %s", sub, s)
	}
	return s
}

// readUntil skips elements until one contains sub.
func (c *client) readUntil(sub string) string {
	c.t.Helper()
	for i := 0; i < 50; i++ {
		if s := c.read(); strings.Contains(s, sub) {
			return s
		}
	}
	c.t.Fatalf("no element containing %q", sub)
	return ""
}

// nothing asserts that no element arrives within d.
func (c *client) nothing(d time.Duration) {
	c.t.Helper()
	if k, s := c.readUnit(d); k != 0 {
		c.t.Fatalf("expected nothing, got %s", s)
	}
}

// auth runs SASL with mech; it returns the <success/> or <failure/> element.
func (c *client) auth(mech sasl.Mechanism, user, pass string) (string, bool) {
	c.t.Helper()
	c.expect("features", "mechanisms")
	n := sasl.NewClient(mech, sasl.Credentials(func() ([]byte, []byte, []byte) { return []byte(user), []byte(pass), nil }))
	_, resp, err := n.Step(nil)
	if err != nil {
		c.t.Fatal(err)
	}
	c.send(`<auth xmlns="urn:ietf:params:xml:ns:xmpp-sasl" mechanism="` + mech.Name + `">` + base64.StdEncoding.EncodeToString(resp) + `</auth>`)
	for {
		s := c.read()
		switch {
		case strings.HasPrefix(s, "<challenge"):
			data, _ := base64.StdEncoding.DecodeString(innerText(s))
			_, resp, err := n.Step(data)
			if err != nil {
				c.t.Fatalf("client SASL step: %v", err)
			}
			c.send(`<response xmlns="urn:ietf:params:xml:ns:xmpp-sasl">` + base64.StdEncoding.EncodeToString(resp) + `</response>`)
		case strings.HasPrefix(s, "<success"):
			if text := innerText(s); text != "" {
				data, _ := base64.StdEncoding.DecodeString(text)
				if _, _, err := n.Step(data); err != nil {
					c.t.Fatalf("server signature rejected: %v", err)
				}
			}
			return s, true
		default:
			return s, false
		}
	}
}

func innerText(s string) string {
	i := strings.Index(s, ">")
	j := strings.LastIndex(s, "</")
	if i < 0 || j < i || strings.HasSuffix(s[:i+1], "/>") {
		return ""
	}
	return s[i+1 : j]
}

// login authenticates with PLAIN (or mech), restarts and binds.
func (e *env) login(k transportKind, user, pass string) *client {
	e.t.Helper()
	c := e.dial(k)
	if s, ok := c.auth(sasl.Plain, user, pass); !ok {
		e.t.Fatalf("login failed: %s", s)
	}
	c.open(e.domain)
	c.bind("")
	return c
}

func (c *client) bind(resource string) {
	c.t.Helper()
	c.expect("features", "bind")
	req := `<iq type="set" id="bind1" xmlns="jabber:client"><bind xmlns="urn:ietf:params:xml:ns:xmpp-bind"/></iq>`
	if resource != "" {
		req = `<iq type="set" id="bind1" xmlns="jabber:client"><bind xmlns="urn:ietf:params:xml:ns:xmpp-bind"><resource>` + resource + `</resource></bind></iq>`
	}
	c.send(req)
	s := c.expect("iq", `type="result"`)
	i, j := strings.Index(s, "<jid>"), strings.Index(s, "</jid>")
	if i < 0 || j < i {
		c.t.Fatalf("no jid in %s", s)
	}
	c.jid = s[i+5 : j]
}

// dialRaw connects without opening a stream.
func (e *env) dialRaw(k transportKind) *client {
	e.t.Helper()
	c := &client{t: e.t}
	var err error
	switch k {
	case viaSTARTTLS:
		c.nc, err = net.Dial("tcp", e.c2s)
	case viaTLS:
		c.nc, err = tls.Dial("tcp", e.c2sTLS, &tls.Config{InsecureSkipVerify: true})
	case viaWS:
		var wc *websocket.Conn
		wc, _, err = websocket.Dial(context.Background(), "ws://"+e.ws+"/", &websocket.DialOptions{Subprotocols: []string{"xmpp"}})
		if err == nil {
			c.startWS(wc)
		}
	}
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { c.nc.Close() })
	return c
}

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

// messageIDs reads until nothing arrives for quiet and returns the ids of
// the messages read, in order; it fails the test on a message without
// want in it (when want is not empty).
func (c *client) messageIDs(quiet time.Duration, want string) []string {
	c.t.Helper()
	var ids []string
	for {
		k, s := c.readUnit(quiet)
		if k == 0 {
			return ids
		}
		if strings.HasPrefix(s, "<message") {
			if want != "" && !strings.Contains(s, want) {
				c.t.Fatalf("message without %q: %s", want, s)
			}
			ids = append(ids, attr(s, "id"))
		}
	}
}
