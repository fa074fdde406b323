package bench

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// smClient is a session with resumable stream management (XEP-0198): it
// counts what it receives, keeps what it sent until the server acknowledges
// it, and after a lost connection resumes the session and sends again
// whatever the server says it did not get.
type smClient struct {
	*Client
	t *Target
	i int

	mu    sync.Mutex // held while sending, and across a resumption
	log   []string   // sent stanzas not yet acknowledged
	acked uint32     // the server's h: how many of ours it has handled
	h     atomic.Uint32
}

var errResumeRefused = errors.New("bench: resumption refused")

// send writes a stanza; a write error is not reported, since the stanza
// stays in the log and goes again after resumption.
func (s *smClient) send(st string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.log = append(s.log, st)
	s.write(st)
	if len(s.log)%16 == 0 {
		s.write(`<r xmlns="urn:xmpp:sm:3"/>`)
	}
}

// ack drops what the server has handled from the log.
func (s *smClient) ack(h uint32) {
	n := min(int(h-s.acked), len(s.log))
	if n > 0 {
		s.log = append(s.log[:0], s.log[n:]...)
	}
	s.acked = h
}

// drop cuts the connection as a network failure would.
func (s *smClient) drop() {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	if s.nc != nil {
		s.nc.Close()
	}
	if s.wc != nil {
		s.wc.CloseNow()
	}
}

// resume opens a new stream and resumes the session on it.
func (s *smClient) resume() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	var err error
	for attempt := 0; attempt < 3; attempt++ {
		var n *Client
		if n, err = dialAuth(s.t, s.i); err != nil {
			time.Sleep(100 * time.Millisecond)
			continue
		}
		s.wmu.Lock()
		s.Client.Close()
		s.nc, s.wc, s.buf, s.split, s.framed = n.nc, n.wc, n.buf, n.split, n.framed
		s.wmu.Unlock()
		s.write(`<resume xmlns="urn:xmpp:sm:3" h="` + strconv.FormatUint(uint64(s.h.Load()), 10) + `" previd="` + s.smID + `"/>`)
		var el string
		if el, err = s.until("urn:xmpp:sm:3"); err != nil {
			continue
		}
		if !strings.HasPrefix(el, "<resumed") {
			return fmt.Errorf("%w: %s", errResumeRefused, el)
		}
		h, _ := strconv.ParseUint(attr(el, "h"), 10, 32)
		s.ack(uint32(h))
		for _, st := range s.log {
			s.write(st)
		}
		return nil
	}
	return err
}

// Resume: chat traffic over resumable sessions while one random session
// is cut every DropEvery; each resumes at once. Reports what was lost and
// what arrived twice across the cuts.
func Resume(t *Target, o Options) (*Result, error) {
	o.defaults()
	if err := CheckLoopback(t.Addr); err != nil {
		return nil, err
	}
	if o.DropEvery <= 0 {
		o.DropEvery = time.Second
	}
	conns, err := connectEvery(t, &o, true)
	if err != nil {
		return nil, err
	}
	defer closeAll(conns) // a resumption swaps the connection inside each Client
	clients := make([]*smClient, len(conns))
	for i, c := range conns {
		// Dial sent the initial presence after enabling: the server counts it.
		clients[i] = &smClient{Client: c, t: t, i: i, log: []string{`<presence xmlns="jabber:client"/>`}}
	}
	n := len(clients)
	d := newDeliveries()
	var resumes, refused atomic.Int64
	stop := make(chan struct{})
	var readers sync.WaitGroup
	for _, c := range clients {
		readers.Add(1)
		go func(c *smClient) {
			defer readers.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				el, err := c.Next(time.Second)
				switch {
				case err != nil && isTimeout(err):
					continue
				case err != nil:
					select {
					case <-stop:
						return
					default:
					}
					if err := c.resume(); err != nil {
						refused.Add(1)
						return
					}
					resumes.Add(1)
				case strings.HasPrefix(el, "<r ") || strings.HasPrefix(el, "<r/"):
					c.write(`<a xmlns="urn:xmpp:sm:3" h="` + strconv.FormatUint(uint64(c.h.Load()), 10) + `"/>`)
				case strings.HasPrefix(el, "<a "):
					h, _ := strconv.ParseUint(attr(el, "h"), 10, 32)
					c.mu.Lock()
					c.ack(uint32(h))
					c.mu.Unlock()
				case strings.HasPrefix(el, "<message"), strings.HasPrefix(el, "<presence"), strings.HasPrefix(el, "<iq"):
					c.h.Add(1)
					d.record(el)
				}
			}
		}(c)
	}
	defer func() { close(stop); readers.Wait() }()

	pad := strings.Repeat("x", o.Size)
	var sent, seq, drops atomic.Int64
	meter := startMeter(o.PID)
	deadline := meter.start.Add(o.Duration)
	var wg sync.WaitGroup
	for i, c := range clients {
		wg.Add(1)
		go func(i int, c *smClient) {
			defer wg.Done()
			to, _, _ := strings.Cut(clients[(i+1)%n].JID, "/")
			time.Sleep(time.Duration(i) * o.Interval / time.Duration(n))
			every := time.NewTicker(o.Interval)
			defer every.Stop()
			for time.Now().Before(deadline) {
				id := "r" + strconv.FormatInt(seq.Add(1), 36) + "-" + strconv.Itoa(i)
				c.send(`<message xmlns="jabber:client" to="` + to + `" type="chat" id="` + id + `"><body>` + stamped(pad) + `</body></message>`)
				sent.Add(1)
				<-every.C
			}
		}(i, c)
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		every := time.NewTicker(o.DropEvery)
		defer every.Stop()
		for time.Now().Add(o.DropEvery).Before(deadline) {
			<-every.C
			clients[rand.IntN(n)].drop()
			drops.Add(1)
		}
	}()
	meter.follow(&wg, sent.Load, d.received.Load)
	settle(10*time.Second, sent.Load, d.received.Load)
	r := &Result{Server: o.Server, Scenario: "resume", Sessions: n, Logins: n, Sent: sent.Load(),
		Drops: drops.Load(), Resumes: resumes.Load(), Errors: refused.Load()}
	d.fill(r)
	r.Lost = max(r.Sent-r.Received, 0)
	meter.finish(r)
	return r, nil
}
