package xmpp_test

import (
	"context"
	"crypto/tls"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/parley-chat/parley/accounts"
	"github.com/parley-chat/parley/xmpp/wire"
)

// soakClient is a stream-managed client that survives cuts: it answers
// and requests acks, resumes after a cut, and resends its own stanzas the
// server had not handled.
type soakClient struct {
	addr, user, token, to string
	mu                    sync.Mutex
	nc                    net.Conn
	smID                  string
	hIn                   uint32   // stanzas received
	outQ                  []string // own stanzas not yet acknowledged
	outCount              uint32
	live                  bool
	readDone              chan struct{} // closed when the current reader exits
}

type soakStats struct {
	sent, dups, resumed, failedResume atomic.Int64
	mu                                sync.Mutex
	seen                              map[string]int
}

func (st *soakStats) got(id string) {
	st.mu.Lock()
	st.seen[id]++
	if st.seen[id] > 1 {
		st.dups.Add(1)
	}
	st.mu.Unlock()
}

func (c *soakClient) write(s string) error {
	c.nc.SetWriteDeadline(time.Now().Add(10 * time.Second))
	_, err := c.nc.Write([]byte(s))
	return err
}

// connect opens, authenticates and binds or resumes; the reader runs
// until the connection ends.
func (c *soakClient) connect(st *soakStats) error {
	nc, err := tls.Dial("tcp", c.addr, &tls.Config{InsecureSkipVerify: true})
	if err != nil {
		return err
	}
	var split wire.Splitter
	var buf []byte
	tmp := make([]byte, 16<<10)
	next := func() (wire.Kind, string, error) {
		for {
			if len(buf) > 0 {
				n, k, err := split.Next(buf)
				if err != nil {
					return 0, "", err
				}
				if n > 0 {
					s := string(buf[:n])
					buf = buf[n:]
					if k == wire.KindSpace {
						continue
					}
					return k, s, nil
				}
			}
			nc.SetReadDeadline(time.Now().Add(60 * time.Second))
			n, err := nc.Read(tmp)
			buf = append(buf, tmp[:n]...)
			if err != nil && n == 0 {
				return 0, "", err
			}
		}
	}
	until := func(sub string) (string, error) {
		for {
			_, s, err := next()
			if err != nil {
				return "", err
			}
			if strings.Contains(s, sub) {
				return s, nil
			}
		}
	}
	open := `<stream:stream xmlns="jabber:client" xmlns:stream="http://etherx.jabber.org/streams" to="localhost" version="1.0">`
	c.nc = nc
	split.Header = true
	c.write(open)
	if _, err := until("</stream:features>"); err != nil {
		nc.Close()
		return err
	}
	c.write(`<auth xmlns="urn:ietf:params:xml:ns:xmpp-sasl" mechanism="PLAIN">` + b64("\x00"+c.user+"\x00"+c.token) + `</auth>`)
	if s, err := until("urn:ietf:params:xml:ns:xmpp-sasl"); err != nil || !strings.Contains(s, "success") {
		nc.Close()
		return fmt.Errorf("auth: %v %s", err, s)
	}
	split.Reset()
	split.Header = true
	buf = buf[:0]
	c.write(open)
	if _, err := until("</stream:features>"); err != nil {
		nc.Close()
		return err
	}
	c.mu.Lock()
	smID, h := c.smID, c.hIn
	c.mu.Unlock()
	resumed := false
	if smID != "" {
		c.write(`<resume xmlns="urn:xmpp:sm:3" previd="` + smID + `" h="` + strconv.FormatUint(uint64(h), 10) + `"/>`)
		s, err := until("urn:xmpp:sm:3")
		if err != nil {
			nc.Close()
			return err
		}
		if strings.HasPrefix(s, "<resumed") {
			resumed = true
			st.resumed.Add(1)
			hs, _ := strconv.ParseUint(attr(s, "h"), 10, 32)
			c.mu.Lock()
			c.ackLocked(uint32(hs))
			pending := append([]string(nil), c.outQ...)
			c.live = true
			c.mu.Unlock()
			for _, p := range pending { // the server never handled these
				c.write(p)
			}
		} else {
			st.failedResume.Add(1)
		}
	}
	if !resumed {
		c.write(`<iq type="set" id="b" xmlns="jabber:client"><bind xmlns="urn:ietf:params:xml:ns:xmpp-bind"/></iq>`)
		if _, err := until("</iq>"); err != nil {
			nc.Close()
			return err
		}
		c.write(`<enable xmlns="urn:xmpp:sm:3" resume="true"/>`)
		s, err := until("enabled")
		if err != nil {
			nc.Close()
			return err
		}
		c.mu.Lock()
		c.smID, c.hIn, c.outQ, c.outCount, c.live = attr(s, "id"), 0, nil, 0, true
		c.mu.Unlock()
		c.send(`<presence/>`)
	}
	done := make(chan struct{})
	c.mu.Lock()
	c.readDone = done
	c.mu.Unlock()
	go func() {
		defer close(done)
		for {
			_, s, err := next()
			if err != nil {
				c.mu.Lock()
				c.live = false
				c.mu.Unlock()
				return
			}
			switch {
			case strings.HasPrefix(s, "<r "):
				c.mu.Lock()
				h := c.hIn
				c.mu.Unlock()
				c.write(`<a xmlns="urn:xmpp:sm:3" h="` + strconv.FormatUint(uint64(h), 10) + `"/>`)
			case strings.HasPrefix(s, "<a "):
				hs, _ := strconv.ParseUint(attr(s, "h"), 10, 32)
				c.mu.Lock()
				c.ackLocked(uint32(hs))
				c.mu.Unlock()
			case strings.HasPrefix(s, "<message"), strings.HasPrefix(s, "<presence"), strings.HasPrefix(s, "<iq"):
				c.mu.Lock()
				c.hIn++
				c.mu.Unlock()
				if strings.HasPrefix(s, "<message") && strings.Contains(s, "<body>") {
					st.got(attr(s, "id"))
				}
			}
		}
	}()
	return nil
}

func (c *soakClient) ackLocked(h uint32) {
	n := h - (c.outCount - uint32(len(c.outQ)))
	if n <= uint32(len(c.outQ)) {
		c.outQ = c.outQ[n:]
	}
}

// request asks the server for an ack.
func (c *soakClient) request() {
	c.mu.Lock()
	nc, live := c.nc, c.live
	c.mu.Unlock()
	if live {
		nc.SetWriteDeadline(time.Now().Add(10 * time.Second))
		nc.Write([]byte(`<r xmlns="urn:xmpp:sm:3"/>`))
	}
}

// send queues a stanza in the client's SM accounting and writes it.
func (c *soakClient) send(s string) bool {
	c.mu.Lock()
	if !c.live {
		c.mu.Unlock()
		return false
	}
	c.outQ = append(c.outQ, s)
	c.outCount++
	nc := c.nc
	c.mu.Unlock()
	nc.SetWriteDeadline(time.Now().Add(10 * time.Second))
	nc.Write([]byte(s))
	return true
}

// TestSoakResume runs when PARLEY_SOAK is set (it takes minutes): clients
// (PARLEY_SOAK_CLIENTS, default 1,000) each send a message to a neighbour
// every PARLEY_SOAK_INTERVAL (default 2 s) and have their TCP connection
// cut and resumed every 30 s, for PARLEY_SOAK (a duration, e.g. 5m). It
// reports messages sent, delivered, lost and duplicated; lost and
// duplicated must be 0.
func TestSoakResume(t *testing.T) {
	dur, err := time.ParseDuration(os.Getenv("PARLEY_SOAK"))
	if err != nil {
		t.Skip("set PARLEY_SOAK=5m to run the soak test")
	}
	n := 1000
	if v, err := strconv.Atoi(os.Getenv("PARLEY_SOAK_CLIENTS")); err == nil {
		n = v
	}
	interval := 2 * time.Second
	if v, err := time.ParseDuration(os.Getenv("PARLEY_SOAK_INTERVAL")); err == nil {
		interval = v
	}
	e := newChatEnv(t)
	e.acc.Iterations = 1000
	clients := make([]*soakClient, n)
	for i := 0; i < n; i++ {
		login := fmt.Sprintf("soak%05d", i)
		jid, _ := e.user(login, "soak-password")
		_, tok, _, err := e.acc.CreateSession(context.Background(), e.app.ID, e.app.AuthKey, &accounts.Login{Login: login, Password: "soak-password"})
		if err != nil {
			t.Fatal(err)
		}
		clients[i] = &soakClient{addr: e.c2sTLS, user: jid, token: tok}
	}
	for i, c := range clients {
		c.to = clients[(i+1)%n].user + "@localhost"
	}
	st := &soakStats{seen: map[string]int{}}
	for _, c := range clients {
		if err := c.connect(st); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), dur)
	defer cancel()
	var wg sync.WaitGroup
	var msgSeq atomic.Int64
	var reconnectErrs atomic.Int64
	for i, c := range clients {
		wg.Add(1)
		go func(i int, c *soakClient) {
			defer wg.Done()
			send := time.NewTicker(interval)
			defer send.Stop()
			// Cuts are spread evenly over each 30 s period.
			cut := time.NewTimer(time.Duration(i) * 30 * time.Second / time.Duration(len(clients)))
			defer cut.Stop()
			for sent := 0; ; sent++ {
				select {
				case <-ctx.Done():
					return
				case <-cut.C:
					c.mu.Lock()
					c.live = false
					nc, done := c.nc, c.readDone
					c.mu.Unlock()
					nc.Close()
					<-done // h must count everything the old stream delivered
					for try := 0; ; try++ {
						if err := c.connect(st); err == nil {
							break
						} else if try > 20 || ctx.Err() != nil {
							reconnectErrs.Add(1)
							return
						}
						time.Sleep(100 * time.Millisecond)
					}
					cut.Reset(30 * time.Second)
				case <-send.C:
					id := "s" + strconv.FormatInt(msgSeq.Add(1), 10)
					if c.send(`<message to="` + c.to + `" type="chat" id="` + id + `"><body>soak</body></message>`) {
						st.sent.Add(1)
						if sent%4 == 3 {
							c.request() // a nonza: outside the stanza count
						}
					} else {
						msgSeq.Add(0)
					}
				}
			}
		}(i, c)
	}
	wg.Wait()
	time.Sleep(5 * time.Second) // let the last messages and replays land
	st.mu.Lock()
	delivered := int64(len(st.seen))
	st.mu.Unlock()
	sent := st.sent.Load()
	lost := sent - delivered
	t.Logf("soak: %d clients, %v, cut+resume every 30 s: sent %d, delivered %d, lost %d, duplicated %d, resumes %d, failed resumes %d, reconnect errors %d",
		n, dur, sent, delivered, lost, st.dups.Load(), st.resumed.Load(), st.failedResume.Load(), reconnectErrs.Load())
	if lost != 0 || st.dups.Load() != 0 {
		t.Fatalf("lost %d, duplicated %d", lost, st.dups.Load())
	}
	_ = rand.IntN
}
