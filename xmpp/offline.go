package xmpp

import (
	"bytes"
	"strconv"
	"time"

	"github.com/parley-chat/parley/xmpp/wire"
)

// Offline delivery (XEP-0160 with XEP-0203 delay stamps).
//
// Rule for history: a message the chat model saved to history
// (save_to_history=1) is not also queued offline. Clients of the
// ConnectyCube model load history themselves, so the message is neither lost
// nor delivered twice. Everything else a user would miss — chat and normal
// messages without save_to_history, headlines (system notifications,
// call signalling), chat markers — is queued, bounded per user (oldest
// dropped), and delivered with <delay> when the user next sends available
// presence. Typing notifications and errors are never stored.

const defaultOfflineMax = 1000

// offlineWorthy reports whether a message that reached nobody is queued.
func offlineWorthy(typ string, e *wire.Element, stored bool) bool {
	switch typ {
	case "", "normal", "chat", "headline":
	default:
		return false
	}
	return !stored && !chatStateOnly(e)
}

// storeOffline queues b for the user; false if it could not be stored.
func (s *Server) storeOffline(k userKey, b []byte) bool {
	if s.cfg.Offline == nil {
		return false
	}
	ctx, cancel := s.ctx()
	defer cancel()
	dropped, err := s.cfg.Offline.PushOffline(ctx, k.app, k.user, b, time.Now().UTC(), s.cfg.OfflineMax)
	if err != nil {
		s.log.Error("xmpp: offline store failed", "user", k.user, "app", k.app, "err", err)
		return false
	}
	s.metrics.offlineStored.Inc()
	if dropped > 0 {
		s.metrics.offlineDropped.Add(float64(dropped))
	}
	return true
}

// flushOffline delivers the user's queue to c, oldest first, each with a
// delay stamp of when it was stored.
func (s *Server) flushOffline(c *conn) {
	if s.cfg.Offline == nil {
		return
	}
	ctx, cancel := s.ctx()
	defer cancel()
	for {
		msgs, err := s.cfg.Offline.PopOffline(ctx, c.appID, c.userID, 200)
		if err != nil {
			s.log.Error("xmpp: offline read failed", "jid", c.jid, "err", err)
			return
		}
		for _, m := range msgs {
			c.send(withDelay(m.Stanza, s.cfg.Domain, m.At), kindMessage)
			s.metrics.offlineDelivered.Inc()
		}
		if len(msgs) < 200 {
			return
		}
	}
}

// withDelay inserts <delay/> before the stanza's end tag.
func withDelay(b []byte, domain string, at time.Time) []byte {
	end := bytes.LastIndex(b, []byte("</"))
	if end < 0 {
		return b
	}
	d := `<delay xmlns="urn:xmpp:delay" from="` + xmlEsc(domain) + `" stamp="` + at.UTC().Format("2006-01-02T15:04:05.000Z") + `"/>`
	out := make([]byte, 0, len(b)+len(d))
	out = append(append(append(out, b[:end]...), d...), b[end:]...)
	return out
}

// dateSentExtra stamps extraParams/date_sent on a message the chat model did
// not stamp, so offline copies carry it (the SDK reads no <delay> stamp).
func dateSentExtra(m *chatMessage, extra string) string {
	if extra != "" || m.typing || m.markerKind != "" {
		return extra
	}
	return elem("date_sent", strconv.FormatInt(time.Now().Unix(), 10))
}
