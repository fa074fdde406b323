package xmpp

import (
	"bytes"
	"context"
	"strconv"
	"time"

	"github.com/parley-chat/parley/history"
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
func (s *Server) storeOffline(k userKey, b []byte) bool { return s.storeOfflineTagged(k, b, "") }

// storeOfflineTagged queues b with a tag (a hibernated session's id).
func (s *Server) storeOfflineTagged(k userKey, b []byte, tag string) bool {
	if s.cfg.Offline == nil {
		return false
	}
	ctx, cancel := s.ctx()
	defer cancel()
	dropped, err := s.cfg.Offline.PushOffline(ctx, k.app, k.user, history.Offline{Stanza: b, At: time.Now().UTC(), Tag: tag}, s.cfg.OfflineMax)
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

// flushBatch is how many offline messages are taken from the store at a
// time; a client that stops reading puts at most that many back.
const flushBatch = 50

// flushOffline delivers the user's queue to c, oldest first, each with a
// delay stamp of when it was stored. It runs beside the reader and keeps
// pace with the client: a message waits until the connection's queue (and,
// with stream management, its unacknowledged stanzas) has room, so a long
// queue of large messages is not a slow-consumer cut. What cannot be sent
// goes back to the store.
func (s *Server) flushOffline(c *conn) {
	if s.cfg.Offline == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for {
		msgs, err := s.cfg.Offline.PopOffline(ctx, c.appID, c.userID, flushBatch)
		if err != nil {
			s.log.Error("xmpp: offline read failed", "jid", c.jid, "err", err)
			return
		}
		for i, m := range msgs {
			b := withDelay(m.Stanza, s.cfg.Domain, m.At)
			if !c.waitRoom(len(b), s.cfg.WriteTimeout) || !c.send(b, kindMessage) {
				s.requeueOffline(c, msgs[i:])
				return
			}
			s.metrics.offlineDelivered.Inc()
		}
		if len(msgs) < flushBatch {
			return
		}
	}
}

// requeueOffline puts back messages taken for a connection that went away
// or stopped reading.
func (s *Server) requeueOffline(c *conn, msgs []history.Offline) {
	ctx, cancel := s.ctx()
	defer cancel()
	for _, m := range msgs {
		m.Tag = ""
		if _, err := s.cfg.Offline.PushOffline(ctx, c.appID, c.userID, m, s.cfg.OfflineMax); err != nil {
			s.log.Error("xmpp: offline message not put back", "jid", c.jid, "err", err)
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
