package xmpp

import (
	"bytes"
	"strconv"
	"sync"
	"time"

	"github.com/parley-chat/parley/xmpp/wire"
)

// Stream management (XEP-0198 v3).
//
// An smState outlives its connection: when a resumable stream breaks, the
// session hibernates for ResumeTimeout, stays reachable, and records what
// is sent to it; a new connection that resumes takes the state over and
// gets the unacknowledged stanzas again. If nobody resumes, the
// unacknowledged messages go to offline storage.

const nsSM = "urn:xmpp:sm:3"

// smState is one stream-managed session.
type smState struct {
	mu        sync.Mutex
	id        string
	resumable bool
	in        uint32   // h: stanzas handled from the client
	out       uint32   // stanzas sent to the client
	unacked   [][]byte // the last out-acked ones, oldest first
	bytes     int
	conn      *conn // the live connection; nil while hibernated
	timer     *time.Timer
	lastReq   time.Time
	done      bool    // finalized: no more recording
	user      userKey // fixed at enable
	prevConn  *conn   // the connection that last held the state
	mirror    bool    // written through to the cluster (resumable elsewhere)
	// spilled: every message in unacked that offline delivery would keep is
	// in offline storage too, tagged with id (set while hibernated).
	spilled bool
	trim    func(n int)
}

// ackEvery is how many unacknowledged stanzas make the server ask for an
// ack on its own.
const ackEvery = 5

// send records b and, when a connection is live, queues it there.
//
// The queue of unacknowledged stanzas obeys the connection's byte limit
// whether the session is live or hibernated: beyond it the session ends (it
// is not resumable any more) and what it held goes to offline storage; it
// never grows. While hibernated, every message that offline delivery would
// keep is also written to offline storage at once, so a message the server
// took responsibility for survives a crash of this node.
func (st *smState) send(s *Server, b []byte, k stanzaKind) bool {
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.done {
		return false
	}
	c := st.conn
	if st.bytes+len(b) > s.cfg.MaxQueue && len(st.unacked) > 0 {
		// Full: the session ends. What it holds goes offline now, under the
		// lock, so messages routed after it (offline, as it no longer takes
		// any) keep their order.
		s.metrics.slow.Inc()
		st.done = true
		pending := append(st.unacked, b)
		if st.spilled {
			pending = pending[len(pending)-1:] // the rest is stored already
		}
		st.unacked, st.bytes = nil, 0
		s.storeUnacked(st.user, pending)
		if c == nil {
			go s.finalize(st.prevConn, st)
			return true
		}
		c.out.discard()
		if c.closed.CompareAndSwap(false, true) {
			s.log.Warn("xmpp: slow consumer disconnected", "jid", c.jid, "limit", s.cfg.MaxQueue)
			go c.nc.Close()
		}
		return true
	}
	st.unacked = append(st.unacked, b)
	st.bytes += len(b)
	st.out++
	if st.mirror {
		ctx, cancel := s.mirrorCtx()
		if err := s.cluster.SMPush(ctx, st.id, b, st.out, s.smTTL()); err != nil {
			s.log.Warn("cluster: stanza not mirrored", "err", err)
		}
		cancel()
	}
	if c == nil {
		s.spill(st, [][]byte{b})
		return true
	}
	if ok, _ := c.out.push(b); ok {
		s.metrics.out[k].Inc()
	}
	if len(st.unacked)%ackEvery == 0 {
		c.out.push(smR)
		st.lastReq = time.Now()
	}
	return true
}

var smR = []byte(`<r xmlns="` + nsSM + `"/>`)

// ack drops what the client has acknowledged; false when h is impossible.
func (st *smState) ack(h uint32) bool {
	n, ok := st.ackN(h)
	if ok && n > 0 && st.mirror {
		st.mirrorAck(n)
	}
	return ok
}

// mirrorAck is set when the state is mirrored: it trims the mirror.
func (st *smState) mirrorAck(n int) {
	if st.trim != nil {
		st.trim(n)
	}
}

// ackN drops acknowledged stanzas and returns how many.
func (st *smState) ackN(h uint32) (int, bool) {
	st.mu.Lock()
	defer st.mu.Unlock()
	pending := uint32(len(st.unacked))
	acked := st.out - pending
	n := h - acked // wraps like the counters (mod 2^32)
	if n > pending {
		return 0, false
	}
	for i := uint32(0); i < n; i++ {
		st.bytes -= len(st.unacked[i])
		st.unacked[i] = nil
	}
	st.unacked = st.unacked[n:]
	if len(st.unacked) == 0 {
		st.unacked = nil
	}
	return int(n), true
}

// handleSM processes an SM nonza on a bound stream.
func (c *conn) handleSM(e *wire.Element) {
	s := c.srv
	switch string(e.Local) {
	case "enable":
		if c.sm.Load() != nil {
			c.out.push([]byte(`<failed xmlns="` + nsSM + `"><unexpected-request xmlns="urn:ietf:params:xml:ns:xmpp-stanzas"/></failed>`))
			return
		}
		v, _ := e.Attr("resume")
		st := &smState{id: randomID(18), resumable: v == "true" || v == "1", conn: c, prevConn: c, user: userKey{c.appID, c.userID}}
		if st.resumable {
			s.smMu.Lock()
			s.smByID[st.id] = st
			s.smMu.Unlock()
		}
		c.sm.Store(st)
		s.mirrorEnable(c, st)
		if st.mirror {
			id := st.id
			st.trim = func(n int) {
				ctx, cancel := s.mirrorCtx()
				s.cluster.SMAck(ctx, id, n)
				cancel()
			}
		}
		b := `<enabled xmlns="` + nsSM + `"`
		if st.resumable {
			b += ` id="` + st.id + `" resume="true" max="` + strconv.Itoa(int(s.cfg.ResumeTimeout/time.Second)) + `"`
		}
		c.out.push([]byte(b + `/>`))
	case "r":
		if st := c.sm.Load(); st != nil {
			st.mu.Lock()
			h := st.in
			st.mu.Unlock()
			c.out.push([]byte(`<a xmlns="` + nsSM + `" h="` + strconv.FormatUint(uint64(h), 10) + `"/>`))
		}
	case "a":
		st := c.sm.Load()
		if st == nil {
			return
		}
		v, _ := e.Attr("h")
		h, err := strconv.ParseUint(v, 10, 32)
		if err != nil || !st.ack(uint32(h)) {
			c.fail(streamUndefined, "acknowledged more stanzas than were sent (handled-count-too-high)")
		}
	default:
		c.out.push([]byte(`<failed xmlns="` + nsSM + `"><unexpected-request xmlns="urn:ietf:params:xml:ns:xmpp-stanzas"/></failed>`))
	}
}

// countIn counts a stanza handled from the client.
func (c *conn) countIn() {
	if st := c.sm.Load(); st != nil {
		st.mu.Lock()
		st.in++
		in, mirror := st.in, st.mirror
		st.mu.Unlock()
		if mirror {
			ctx, cancel := c.srv.mirrorCtx()
			c.srv.cluster.SMIn(ctx, st.id, in)
			cancel()
		}
	}
}

// hibernate keeps a broken resumable session for ResumeTimeout. It reports
// false when the session must end now. The connection's buffers are
// released, and the unacknowledged messages are written to offline storage
// at once (tagged, so a resume drops the copies it replays itself).
func (s *Server) hibernate(c *conn) bool {
	st := c.sm.Load()
	if st == nil || !st.resumable || c.cleanClose || s.closing.Load() {
		return false
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.conn != c || st.done {
		return st.conn != c // taken over by a resumed stream: nothing to end
	}
	st.conn = nil
	c.out.discard()
	c.rbuf = nil
	s.spill(st, st.unacked)
	st.spilled = true
	st.timer = time.AfterFunc(s.cfg.ResumeTimeout, func() { s.expire(st, c) })
	s.metrics.hibernated.Inc()
	return true
}

// spill writes the messages of a hibernated session that offline delivery
// would keep to offline storage, tagged with the session's id.
func (s *Server) spill(st *smState, msgs [][]byte) {
	for _, b := range msgs {
		if offlineKept(b) {
			s.storeOfflineTagged(st.user, b, st.id)
		}
	}
}

// unspill drops the tagged offline copies of a session being resumed: the
// resumed stream replays those messages itself.
func (s *Server) unspill(st *smState) {
	if s.cfg.Offline == nil {
		return
	}
	ctx, cancel := s.ctx()
	defer cancel()
	if _, err := s.cfg.Offline.DropOffline(ctx, st.user.app, st.user.user, st.id); err != nil {
		s.log.Error("xmpp: offline copies of a resumed session not dropped", "user", st.user.user, "err", err)
	}
}

// expire ends a hibernated session nobody resumed.
func (s *Server) expire(st *smState, c *conn) {
	st.mu.Lock()
	if st.conn != nil || st.done {
		st.mu.Unlock()
		return
	}
	st.done = true
	st.mu.Unlock()
	s.finalize(c, st)
}

// finalize ends a session for good: unacknowledged messages go offline,
// then the session leaves the registry.
func (s *Server) finalize(c *conn, st *smState) {
	if st != nil {
		s.smMu.Lock()
		delete(s.smByID, st.id)
		s.smMu.Unlock()
		st.mu.Lock()
		st.done = true
		pending := st.unacked
		if st.spilled {
			pending = nil // in offline storage since hibernation
		}
		st.unacked, st.bytes = nil, 0
		mirror := st.mirror
		st.mirror = false
		st.mu.Unlock()
		if len(pending) > 0 {
			s.storeUnacked(st.user, pending)
		}
		if mirror {
			ctx, cancel := s.mirrorCtx()
			s.cluster.SMDrop(ctx, st.id)
			cancel()
		}
	}
	s.unbind(c)
}

// storeUnacked moves unacknowledged messages to the user's offline queue,
// by the same rule as offline delivery (history keeps saved ones).
func (s *Server) storeUnacked(k userKey, pending [][]byte) bool {
	ok := true
	for _, b := range pending {
		if offlineKept(b) && !s.storeOffline(k, b) {
			ok = false
		}
	}
	return ok
}

// offlineKept reports whether a stanza sent to a session is one offline
// delivery keeps: a message, not an error or typing, not saved to history.
func offlineKept(b []byte) bool {
	var p wire.Parser
	p.DefaultNS = nsClientBytes
	var e wire.Element
	if p.Parse(b, &e) != nil || string(e.Local) != "message" {
		return false
	}
	typ, _ := e.Attr("type")
	return typ != "error" && !chatStateOnly(&e) && !savedToHistory(&e)
}

// savedToHistory reports a relayed message the chat model stored.
func savedToHistory(e *wire.Element) bool {
	x, ok := e.Child("extraParams", "")
	if !ok {
		return false
	}
	m := &chatMessage{}
	m.readExtra(e.Raw[x.Start:x.End])
	return m.save && bytes.Contains(e.Raw[x.Start:x.End], []byte("<date_sent>"))
}

// resume takes over a hibernated (or still attached) session after SASL.
func (c *conn) resume(e *wire.Element) bool {
	s := c.srv
	previd, _ := e.Attr("previd")
	hv, _ := e.Attr("h")
	h, err := strconv.ParseUint(hv, 10, 32)
	s.smMu.Lock()
	st := s.smByID[previd]
	s.smMu.Unlock()
	if st == nil && s.cluster != nil && err == nil {
		return c.resumeRemote(previd, uint32(h))
	}
	failed := func() bool {
		c.writeNow([]byte(`<failed xmlns="` + nsSM + `"><item-not-found xmlns="urn:ietf:params:xml:ns:xmpp-stanzas"/></failed>`))
		return false
	}
	if st == nil || err != nil || st.user != (userKey{c.appID, c.userID}) {
		return failed()
	}
	st.mu.Lock()
	if old := st.conn; old != nil && !st.done {
		// The client is back before its old stream was seen to break. That
		// stream's reader may still be handling stanzas the client sent
		// before the cut: stop it and let it finish, or h would miss them
		// and the client would send them twice.
		old.superseded.Store(true)
		st.mu.Unlock()
		old.nc.Close()
		select {
		case <-old.done:
		case <-time.After(5 * time.Second):
		}
		st.mu.Lock()
	}
	if st.done {
		st.mu.Unlock()
		return failed()
	}
	old := st.conn
	if st.timer != nil {
		st.timer.Stop()
	}
	if st.spilled {
		s.unspill(st)
		st.spilled = false
	}
	// Acknowledge what the client got before the break.
	pending := uint32(len(st.unacked))
	n := uint32(h) - (st.out - pending)
	if n > pending {
		st.mu.Unlock()
		c.fail(streamUndefined, "h is larger than the number of stanzas sent")
		return false
	}
	for i := uint32(0); i < n; i++ {
		st.bytes -= len(st.unacked[i])
	}
	st.unacked = st.unacked[n:]
	if st.mirror && n > 0 {
		st.mirrorAck(int(n))
	}
	prev := st.prevConn
	if old != nil {
		prev = old
	}
	c.resource, c.jid, c.bare = prev.resource, prev.jid, prev.bare
	c.out.init(s.cfg.MaxQueue)
	go c.writeLoop()
	c.sm.Store(st)
	st.conn = c
	st.prevConn = c
	c.out.push([]byte(`<resumed xmlns="` + nsSM + `" previd="` + st.id + `" h="` + strconv.FormatUint(uint64(st.in), 10) + `"/>`))
	for _, b := range st.unacked {
		c.out.push(b)
	}
	st.mu.Unlock()
	prev.mu.Lock()
	c.available, c.presence = prev.available, prev.presence
	prev.mu.Unlock()
	s.reg.replace(userKey{c.appID, c.userID}, prev, c)
	s.rooms.move(prev, c)
	for _, h := range s.modules.ended {
		h(prev) // the old connection is gone; modules forget what they kept for it
	}
	c.bound.Store(true)
	s.metrics.resumed.Inc()
	return true
}
