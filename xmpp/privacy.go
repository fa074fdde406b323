package xmpp

import (
	"mellium.im/xmpp/stanza"

	"github.com/parley-chat/parley/privacy"
)

var errBlocked = StanzaError{stanza.Cancel, stanza.ServiceUnavailable, "Blocked by a privacy list."}

// blocked reports whether a 1-1 message between c and the user k is refused
// by either side's default list.
func (s *Server) blocked(c *conn, k userKey, to string) bool {
	if s.cfg.Privacy == nil {
		return false
	}
	ctx, cancel := s.ctx()
	defer cancel()
	return s.cfg.Privacy.Between(ctx, k.app, c.userID, k.user, c.bare, to, false)
}

// refuses reports whether user k refuses kind (directed presence, IQs)
// from c's user, or c's user blocks k mutually.
func (s *Server) refuses(c *conn, k userKey, kind privacy.Kind) bool {
	if s.cfg.Privacy == nil || k.user == c.userID {
		return false
	}
	ctx, cancel := s.ctx()
	defer cancel()
	return s.cfg.Privacy.Refuses(ctx, k.app, c.userID, k.user, kind)
}

// groupBlocks reports whether member refuses group traffic from sender.
func (s *Server) groupBlocks(app, member, sender int64) bool {
	if s.cfg.Privacy == nil || member == sender {
		return false
	}
	ctx, cancel := s.ctx()
	defer cancel()
	return s.cfg.Privacy.BlocksInbound(ctx, app, member, privacy.Target{UserID: sender, JID: s.userJID(app, sender), InRoom: true}, privacy.Message)
}
