package xmpp

import (
	"context"
	"strconv"
	"time"

	"github.com/parley-chat/parley/cluster"
)

// Stream-management resumption across nodes. In cluster mode a resumable
// session's counters and unacknowledged stanzas are written through to
// Redis. A node that gets <resume/> for a session it does not hold asks the
// owner to let go; a dead owner does not answer, and the state is taken from
// Redis all the same.

func (s *Server) smTTL() time.Duration { return s.cfg.ResumeTimeout + time.Minute }

func (s *Server) mirrorCtx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), 2*time.Second)
}

// mirrorEnable starts mirroring a new resumable session.
func (s *Server) mirrorEnable(c *conn, st *smState) {
	if s.cluster == nil || !st.resumable {
		return
	}
	st.mirror = true
	ctx, cancel := s.mirrorCtx()
	defer cancel()
	if err := s.cluster.SMSave(ctx, st.id, cluster.SMState{App: c.appID, User: c.userID, Resource: c.resource, JID: c.jid}, s.smTTL()); err != nil {
		s.log.Warn("cluster: stream management state not mirrored", "jid", c.jid, "err", err)
	}
}

// releaseSM lets go of a session another node is resuming: the old stream
// stops, the session leaves this node, and the mirrored state stays for the
// new owner.
func (s *Server) releaseSM(id string) {
	s.smMu.Lock()
	st := s.smByID[id]
	delete(s.smByID, id)
	s.smMu.Unlock()
	if st != nil {
		st.mu.Lock()
		st.done, st.mirror = true, false
		if st.timer != nil {
			st.timer.Stop()
		}
		old, prev := st.conn, st.prevConn
		st.mu.Unlock()
		if old != nil {
			old.superseded.Store(true)
			old.nc.Close()
			select {
			case <-old.done:
			case <-time.After(5 * time.Second):
			}
		}
		if prev != nil && prev.bound.Load() {
			s.unbind(prev)
		}
	}
	ctx, cancel := s.mirrorCtx()
	defer cancel()
	s.cluster.SMReleased(ctx, id)
}

// resumeRemote resumes a session whose state another node (or a dead one)
// left in Redis.
func (c *conn) resumeRemote(previd string, h uint32) bool {
	s := c.srv
	failed := func() bool {
		c.writeNow([]byte(`<failed xmlns="` + nsSM + `"><item-not-found xmlns="urn:ietf:params:xml:ns:xmpp-stanzas"/></failed>`))
		return false
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	// Only the session's own user may make its owner let go.
	owner, app, user, err := s.cluster.SMOwner(ctx, previd)
	if err != nil || owner == "" || app != c.appID || user != c.userID {
		return failed()
	}
	if owner != s.cluster.Node() && s.cluster.IsAlive(ctx, owner) {
		// A live owner answers within milliseconds; one that does not is
		// taken to be gone.
		s.cluster.SMWaitRelease(ctx, owner, previd, 2*time.Second)
	}
	rs, err := s.cluster.SMTake(ctx, previd)
	if err != nil || rs == nil || rs.App != c.appID || rs.User != c.userID {
		return failed()
	}
	pending := uint32(len(rs.Queue))
	n := h - (rs.Out - pending)
	if n > pending {
		c.fail(streamUndefined, "h is larger than the number of stanzas sent")
		return false
	}
	queue := rs.Queue[n:]
	st := &smState{id: previd, resumable: true, in: rs.In, out: rs.Out, unacked: queue, conn: c, prevConn: c,
		user: userKey{c.appID, c.userID}, mirror: true}
	// The owner may have written offline copies while it hibernated the
	// session; the queue replayed here replaces them.
	s.unspill(st)
	c.resource, c.jid = rs.Resource, rs.JID
	c.bare = s.userJID(c.appID, c.userID)
	for _, b := range queue {
		st.bytes += len(b)
	}
	if err := s.cluster.SMSave(ctx, previd, cluster.SMState{App: c.appID, User: c.userID, Resource: c.resource, JID: c.jid,
		In: rs.In, Out: rs.Out, Queue: queue}, s.smTTL()); err != nil {
		s.log.Warn("cluster: resumed state not mirrored", "jid", c.jid, "err", err)
	}
	c.out.init(s.cfg.MaxQueue)
	go c.writeLoop()
	c.sm.Store(st)
	st.mu.Lock()
	c.out.push([]byte(`<resumed xmlns="` + nsSM + `" previd="` + previd + `" h="` + strconv.FormatUint(uint64(st.in), 10) + `"/>`))
	for _, b := range queue {
		c.out.push(b)
	}
	st.mu.Unlock()
	oldest, ok := s.reg.add(userKey{c.appID, c.userID}, c, s.cfg.MaxSessionsPerUser)
	if !ok {
		c.fail(streamUndefined, "resource in use")
		return false
	}
	defer s.replaceOldest(oldest)
	s.smMu.Lock()
	s.smByID[previd] = st
	s.smMu.Unlock()
	c.bound.Store(true)
	s.metrics.sessions.Inc()
	s.clusterBind(c)
	s.metrics.resumed.Inc()
	return true
}

// Crash stops the node abruptly, as kill -9 would: connections drop and
// nothing is cleaned up (tests of node death).
func (s *Server) Crash() {
	s.crashed.Store(true)
	s.mu.Lock()
	s.closing.Store(true)
	for _, ln := range s.listeners {
		ln.Close()
	}
	conns := make([]*conn, 0, len(s.conns))
	for c := range s.conns {
		conns = append(conns, c)
	}
	s.mu.Unlock()
	for _, c := range conns {
		c.nc.Close()
	}
}
