package xmpp

import (
	"time"

	"github.com/parley-chat/parley/cluster"
)

// Last activity (XEP-0012), the ConnectyCube status-streaming
// subscription, client state (XEP-0352 CSI and Tigase mobile#v2) and
// carbons (XEP-0280).

const (
	nsLast      = "jabber:iq:last"
	nsStatusSub = "https://connectycube.com/protocol/status_streaming"
	nsCSI       = "urn:xmpp:csi:0"
)

// online reports whether the user has a bound session on this node.
func (s *Server) online(k userKey) bool {
	on := false
	s.reg.each(k, func(*conn) { on = true })
	return on || s.cluster != nil && s.remoteOnline(k)
}

// announce pushes a user's status to its subscribers: seconds 0 when it
// comes online, the seconds since it left otherwise (at least 1).
func (s *Server) announce(k userKey, online bool) {
	s.announceLocal(k, online)
	if s.cluster == nil {
		return
	}
	ctx, cancel := s.ctx()
	nodes, err := s.cluster.Watchers(ctx, k.app, k.user)
	cancel()
	if err != nil {
		return
	}
	st := uint8(2)
	if online {
		st = 1
	}
	for _, n := range nodes {
		s.cluster.Send(n, cluster.Delivery{Targets: []cluster.Target{{App: k.app, User: k.user}}, Status: st})
	}
}

// announceLocal tells this node's modules a user's status changed.
func (s *Server) announceLocal(k userKey, online bool) {
	for _, h := range s.modules.status {
		h(User{k.app, k.user}, online)
	}
}

// wentOffline runs when a user's last session on this node ends.
func (s *Server) wentOffline(c *conn) {
	k := userKey{c.appID, c.userID}
	if s.online(k) {
		return
	}
	if s.cfg.Accounts != nil {
		ctx, cancel := s.ctx()
		s.cfg.Accounts.SetLastSeen(ctx, k.app, k.user, time.Now().UTC())
		cancel()
	}
	s.announce(k, false)
}
