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
