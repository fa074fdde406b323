package xmpp

import (
	"slices"
	"time"

	"github.com/parley-chat/parley/dialogs"
	"github.com/parley-chat/parley/push"
)

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

func silent(m *chatMessage) bool {
	v, _ := m.custom["silent"].(string)
	return v == "1" || v == "true"
}

func (s *Server) muted(app int64, dialogID string) []int64 {
	if dialogID == "" || s.cfg.Dialogs == nil {
		return nil
	}
	ctx, cancel := s.ctx()
	defer cancel()
	m, _ := s.cfg.Dialogs.Muted(ctx, app, dialogID)
	return m
}

// pushOne raises an event for a 1-1 message or headline whose recipient is
// away.
func (s *Server) pushOne(c *conn, to userKey, typ string, m *chatMessage) {
	if s.cfg.Push == nil || silent(m) || !s.away(to) || slices.Contains(s.muted(to.app, m.dialogID), to.user) {
		return
	}
	if typ == "" {
		typ = "normal"
	}
	ctx, cancel := s.ctx()
	defer cancel()
	s.cfg.Push.Notify(ctx, push.Event{ID: randomID(12), AppID: c.appID, Recipients: []int64{to.user}, DialogID: m.dialogID,
		SenderID: c.userID, MessageID: m.id, Type: typ, Text: m.body, At: time.Now().UTC()})
}

// pushGroup raises one event for the members of d who are away, have not
// muted it and do not block the sender.
func (s *Server) pushGroup(c *conn, d *dialogs.Dialog, m *chatMessage) {
	if s.cfg.Push == nil || silent(m) || d.Type == dialogs.Broadcast || d.Type == dialogs.Public && d.Large {
		return
	}
	muted := s.muted(d.AppID, d.ID)
	var to []int64
	for _, uid := range d.Recipients() {
		if uid == c.userID || slices.Contains(muted, uid) || s.groupBlocks(d.AppID, uid, c.userID) {
			continue
		}
		if s.away(userKey{d.AppID, uid}) {
			to = append(to, uid)
		}
	}
	if len(to) == 0 {
		return
	}
	ctx, cancel := s.ctx()
	defer cancel()
	s.cfg.Push.Notify(ctx, push.Event{ID: randomID(12), AppID: d.AppID, Recipients: to, DialogID: d.ID,
		SenderID: c.userID, MessageID: m.id, Type: "groupchat", Text: m.body, At: time.Now().UTC()})
}
