package xmpp

// away reports a user with no session, or only inactive ones.
func (s *Server) away(k userKey) bool {
	away := true
	s.reg.each(k, func(o *conn) {
		if !o.inactive.Load() {
			away = false
		}
	})
	// A session on another node counts as active.
	return away && !(s.cluster != nil && s.remoteOnline(k))
}
