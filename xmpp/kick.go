package xmpp

import (
	"mellium.im/xmpp/stream"

	"github.com/parley-chat/parley/cluster"
)

// Kick ends every session of a user on every node (a deleted or banned
// user), with a policy-violation stream error. It returns how many sessions
// this node ended.
func (s *Server) Kick(app, user int64) int {
	n := s.kickLocal(userKey{app, user})
	if s.cluster != nil {
		ctx, cancel := s.ctx()
		s.cluster.Broadcast(ctx, cluster.Delivery{Targets: []cluster.Target{{App: app, User: user}}, Kick: true})
		cancel()
	}
	return n
}

// Revoke ends a user's streams on every node whose credentials no longer
// hold: those signed in with session token only (logout) when it is not 0,
// else all but those signed in with keep (a password change keeps the
// session that made it; 0 ends them all).
func (s *Server) Revoke(app, user, only, keep int64) int {
	n := s.revokeLocal(userKey{app, user}, only, keep)
	if s.cluster != nil {
		ctx, cancel := s.ctx()
		s.cluster.Broadcast(ctx, cluster.Delivery{Targets: []cluster.Target{{App: app, User: user}}, Revoke: true, Only: only, Keep: keep})
		cancel()
	}
	return n
}

func (s *Server) revokeLocal(k userKey, only, keep int64) int {
	if only == 0 && keep == 0 {
		s.forgetUser(k) // deleted
	}
	var list []*conn
	s.reg.each(k, func(c *conn) {
		tok := c.token.Load()
		if only != 0 && tok == only || only == 0 && (keep == 0 || tok != keep) {
			list = append(list, c)
		}
	})
	for _, c := range list {
		s.endSession(c, stream.NotAuthorized, "the credentials of this session were revoked")
	}
	return len(list)
}

func (s *Server) kickLocal(k userKey) int {
	s.forgetUser(k)
	var list []*conn
	s.reg.each(k, func(c *conn) { list = append(list, c) })
	for _, c := range list {
		// A kicked session is not resumable: its state ends with it.
		s.endSession(c, stream.PolicyViolation, "the session was ended by the operator")
	}
	return len(list)
}
