// Package bench is Parley's load generator: it speaks plain XMPP to any
// server (Parley, ejabberd, Prosody) and measures logins, throughput and
// delivery latency, plus the server process' own memory and CPU from /proc.
// It only ever targets loopback addresses, and every loop is bounded in
// count and time.
package bench

import (
	"context"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/coder/websocket"

	"github.com/parley-chat/parley/xmpp/wire"
)

// Target describes the server and how to log in.
type Target struct {
	Addr      string // host:port, loopback only
	Domain    string
	Transport string // "tcp" (plain, no TLS), "starttls", "tls", "ws", "wss"
	Mechanism string // "PLAIN", "SCRAM-SHA-1", "SCRAM-SHA-256"
	// UserPattern and PasswordPattern make user i's name and password;
	// %d is the index (e.g. "bench%d" / "pw%d"). Parley users look like
	// "<userId>-<appId>".
	UserPattern, PasswordPattern string
	FirstUser                    int
	REST                         *REST // Parley's HTTP API, for group rooms and history
}

// ErrNotLoopback refuses any target that is not on this machine.
var ErrNotLoopback = errors.New("bench: only loopback addresses (127.0.0.0/8, ::1, localhost) may be load targets")

// CheckLoopback enforces that addr is a loopback address.
func CheckLoopback(addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return err
	}
	if host == "localhost" {
		return nil
	}
	ip, err := netip.ParseAddr(host)
	if err != nil || !ip.IsLoopback() {
		return ErrNotLoopback
	}
	return nil
}

func (t *Target) user(i int) string { return fmt.Sprintf(t.UserPattern, t.FirstUser+i) }
func (t *Target) pass(i int) string {
	if strings.Contains(t.PasswordPattern, "%d") {
		return fmt.Sprintf(t.PasswordPattern, t.FirstUser+i)
	}
	return t.PasswordPattern
}

// Client is one XMPP session.
type Client struct {
	nc     net.Conn
	wc     *websocket.Conn
	split  wire.Splitter
	buf    []byte
	rbuf   []byte // socket reads land here
	JID    string
	wmu    sync.Mutex
	framed bool
	smID   string
}

func (c *Client) write(s string) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if c.wc != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		return c.wc.Write(ctx, websocket.MessageText, []byte(s))
	}
	c.nc.SetWriteDeadline(time.Now().Add(10 * time.Second))
	_, err := c.nc.Write([]byte(s))
	return err
}

// Next reads one top-level element (or stream header) with a deadline.
func (c *Client) Next(d time.Duration) (string, error) {
	// One read buffer per client, kept: a fresh one per element cost the
	// tool more CPU in allocation and GC than the server spent per message.
	if c.rbuf == nil {
		c.rbuf = make([]byte, 4<<10)
	}
	tmp := c.rbuf
	for {
		if len(c.buf) > 0 {
			n, k, err := c.split.Next(c.buf)
			if err != nil {
				return "", err
			}
			if n > 0 {
				s := string(c.buf[:n])
				c.buf = append(c.buf[:0], c.buf[n:]...)
				if k == wire.KindSpace {
					continue
				}
				return s, nil
			}
		}
		if c.wc != nil {
			ctx, cancel := context.WithTimeout(context.Background(), d)
			_, b, err := c.wc.Read(ctx)
			cancel()
			if err != nil {
				return "", err
			}
			c.buf = append(c.buf, b...)
			continue
		}
		c.nc.SetReadDeadline(time.Now().Add(d))
		n, err := c.nc.Read(tmp)
		c.buf = append(c.buf, tmp[:n]...)
		if err != nil && n == 0 {
			return "", err
		}
	}
}

func (c *Client) until(sub string) (string, error) {
	for {
		s, err := c.Next(15 * time.Second)
		if err != nil {
			return "", err
		}
		if strings.Contains(s, sub) {
			return s, nil
		}
	}
}

// untilID reads until the element whose id attribute is id (either quote).
func (c *Client) untilID(id string) (string, error) {
	for {
		s, err := c.Next(15 * time.Second)
		if err != nil {
			return "", err
		}
		if attr(s, "id") == id {
			return s, nil
		}
	}
}

func (c *Client) open(domain string) error {
	c.split.Reset()
	if c.framed {
		if err := c.write(`<open xmlns="urn:ietf:params:xml:ns:xmpp-framing" to="` + domain + `" version="1.0"/>`); err != nil {
			return err
		}
		_, err := c.until("features")
		return err
	}
	c.split.Header = true
	if err := c.write(`<?xml version='1.0'?><stream:stream xmlns="jabber:client" xmlns:stream="http://etherx.jabber.org/streams" to="` + domain + `" version="1.0">`); err != nil {
		return err
	}
	_, err := c.until("</stream:features>")
	return err
}

// Register creates user i by in-band registration (XEP-0077), for servers
// that allow it (the Prosody and ejabberd configs in bench/peers do).
func Register(t *Target, i int) error {
	c := &Client{}
	var err error
	c.nc, err = net.DialTimeout("tcp", t.Addr, 10*time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	if err := c.open(t.Domain); err != nil {
		return err
	}
	if err := c.write(`<iq type="set" id="reg" xmlns="jabber:client"><query xmlns="jabber:iq:register"><username>` + t.user(i) + `</username><password>` + t.pass(i) + `</password></query></iq>`); err != nil {
		return err
	}
	s, err := c.untilID("reg")
	if err != nil {
		return err
	}
	if attr(s, "type") == "error" && !strings.Contains(s, "conflict") {
		return fmt.Errorf("bench: registering %s: %s", t.user(i), s)
	}
	return nil
}

// RegisterAll creates users 0..n-1 by in-band registration, 16 at a time.
func RegisterAll(t *Target, n int) error {
	return inParallel(n, 16, func(i int) error { return Register(t, i) })
}

// Dial connects and authenticates user i, binds a resource and sends
// initial presence. With sm it enables resumable stream management.
func Dial(t *Target, i int, sm bool) (*Client, error) {
	c, err := dialAuth(t, i)
	if err != nil {
		return nil, err
	}
	fail := func(err error) (*Client, error) { c.Close(); return nil, err }
	if err := c.write(`<iq type="set" id="bind" xmlns="jabber:client"><bind xmlns="urn:ietf:params:xml:ns:xmpp-bind"/></iq>`); err != nil {
		return fail(err)
	}
	s, err := c.until("</iq>")
	if err != nil {
		return fail(err)
	}
	if a, b := strings.Index(s, "<jid>"), strings.Index(s, "</jid>"); a >= 0 && b > a {
		c.JID = s[a+5 : b]
	}
	// Legacy session establishment: harmless where optional, needed by
	// older servers.
	c.write(`<iq type="set" id="sess" xmlns="jabber:client"><session xmlns="urn:ietf:params:xml:ns:xmpp-session"/></iq>`)
	c.untilID("sess")
	if sm {
		c.write(`<enable xmlns="urn:xmpp:sm:3" resume="true"/>`)
		s, err := c.until("urn:xmpp:sm:3")
		if err != nil || !strings.HasPrefix(s, "<enabled") {
			return fail(fmt.Errorf("bench: stream management refused: %s %v", s, err))
		}
		c.smID = attr(s, "id")
	}
	if err := c.write(`<presence xmlns="jabber:client"/>`); err != nil {
		return fail(err)
	}
	return c, nil
}

// dialAuth opens a stream for user i up to the restart after SASL.
func dialAuth(t *Target, i int) (*Client, error) {
	c := &Client{}
	tlsCfg := &tls.Config{InsecureSkipVerify: true, ServerName: t.Domain}
	var err error
	switch t.Transport {
	case "tls":
		c.nc, err = tls.Dial("tcp", t.Addr, tlsCfg)
	case "ws", "wss":
		scheme := "ws"
		opts := &websocket.DialOptions{Subprotocols: []string{"xmpp"}}
		if t.Transport == "wss" {
			scheme = "wss"
			opts.HTTPClient = httpsClient(tlsCfg)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		c.wc, _, err = websocket.Dial(ctx, scheme+"://"+t.Addr+"/ws", opts)
		cancel()
		if err == nil {
			c.wc.SetReadLimit(4 << 20)
		}
		c.framed = true
	default:
		c.nc, err = net.DialTimeout("tcp", t.Addr, 10*time.Second)
	}
	if err != nil {
		return nil, err
	}
	fail := func(err error) (*Client, error) { c.Close(); return nil, err }
	if err := c.open(t.Domain); err != nil {
		return fail(err)
	}
	if t.Transport == "starttls" {
		if err := c.write(`<starttls xmlns="urn:ietf:params:xml:ns:xmpp-tls"/>`); err != nil {
			return fail(err)
		}
		if _, err := c.until("proceed"); err != nil {
			return fail(err)
		}
		tc := tls.Client(c.nc, tlsCfg)
		if err := tc.Handshake(); err != nil {
			return fail(err)
		}
		c.nc, c.buf = tc, c.buf[:0]
		if err := c.open(t.Domain); err != nil {
			return fail(err)
		}
	}
	if err := c.auth(t, i); err != nil {
		return fail(err)
	}
	if err := c.open(t.Domain); err != nil {
		return fail(err)
	}
	return c, nil
}

func (c *Client) auth(t *Target, i int) error {
	user, pass := t.user(i), t.pass(i)
	mech := t.Mechanism
	var sc *scram
	first := []byte("\x00" + user + "\x00" + pass)
	switch mech {
	case "SCRAM-SHA-1", "SCRAM-SHA-256":
		sc = newScram(mech, user, pass)
		first = sc.first()
	default:
		mech = "PLAIN"
	}
	if err := c.write(`<auth xmlns="urn:ietf:params:xml:ns:xmpp-sasl" mechanism="` + mech + `">` + base64.StdEncoding.EncodeToString(first) + `</auth>`); err != nil {
		return err
	}
	for step := 0; step < 4; step++ {
		s, err := c.until("urn:ietf:params:xml:ns:xmpp-sasl")
		if err != nil {
			return err
		}
		data, _ := base64.StdEncoding.DecodeString(inner(s))
		switch {
		case strings.HasPrefix(s, "<success"):
			if sc != nil && len(data) > 0 {
				return sc.verify(data)
			}
			return nil
		case strings.HasPrefix(s, "<challenge") && sc != nil:
			resp := []byte{}
			if step == 0 {
				if resp, err = sc.final(data); err != nil {
					return err
				}
			} else if err := sc.verify(data); err != nil {
				return err
			}
			enc := base64.StdEncoding.EncodeToString(resp)
			if enc == "" {
				enc = "=" // RFC 6120 §6.4.2: an empty response
			}
			c.write(`<response xmlns="urn:ietf:params:xml:ns:xmpp-sasl">` + enc + `</response>`)
		default:
			return fmt.Errorf("bench: login of %s refused: %s", user, s)
		}
	}
	return fmt.Errorf("bench: SASL exchange of %s did not end", user)
}

// Close ends the stream and the connection.
func (c *Client) Close() {
	if c.wc != nil {
		c.wc.CloseNow()
		return
	}
	if c.nc != nil {
		c.nc.Close()
	}
}

func inner(s string) string {
	i := strings.IndexByte(s, '>')
	j := strings.LastIndex(s, "</")
	if i < 0 || j <= i {
		return ""
	}
	return s[i+1 : j]
}

func attr(s, name string) string {
	i := strings.Index(s, name+`="`)
	if i < 0 {
		i = strings.Index(s, name+`='`)
		if i < 0 {
			return ""
		}
	}
	q := s[i+len(name)+1]
	s = s[i+len(name)+2:]
	return s[:strings.IndexByte(s, q)]
}
