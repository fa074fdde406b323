// Package pushes raises push events (package push) for content messages
// whose recipients are away: no session, or only inactive ones (CSI,
// mobile#v2). Not for messages marked silent, dialogs the recipient muted,
// senders a group member blocks, broadcast dialogs or large public ones.
package pushes

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"slices"
	"strings"
	"time"

	"github.com/parley-chat/parley/dialogs"
	"github.com/parley-chat/parley/privacy"
	"github.com/parley-chat/parley/push"
	"github.com/parley-chat/parley/xmpp"
)

// Module raises the events.
type Module struct {
	push    *push.Service
	dialogs *dialogs.Service
	lists   *privacy.Service // nil: nobody blocks
	core    xmpp.Core
}

// New returns the module; dialogs and lists may be nil.
func New(p *push.Service, ds *dialogs.Service, lists *privacy.Service) *Module {
	return &Module{push: p, dialogs: ds, lists: lists}
}

// Register implements xmpp.Module.
func (m *Module) Register(r *xmpp.Registry) {
	m.core = r.Core()
	r.OnRouted(m.routed)
}

func silent(r *xmpp.Routed) bool {
	v, _ := r.Custom["silent"].(string)
	return v == "1" || v == "true"
}

func (m *Module) muted(ctx context.Context, app int64, dialogID string) []int64 {
	if dialogID == "" || m.dialogs == nil {
		return nil
	}
	u, _ := m.dialogs.Muted(ctx, app, dialogID)
	return u
}

func (m *Module) routed(r *xmpp.Routed) {
	if silent(r) {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	from := r.From
	ev := push.Event{ID: randomID(), AppID: from.App(), DialogID: r.DialogID, SenderID: from.User(), MessageID: r.ID,
		Type: r.Type, Text: r.Body, At: time.Now().UTC()}
	if r.Room == nil {
		if !m.core.Away(r.To) || slices.Contains(m.muted(ctx, r.To.App, r.DialogID), r.To.ID) {
			return
		}
		if ev.Type == "" {
			ev.Type = "normal"
		}
		ev.Recipients = []int64{r.To.ID}
		m.push.Notify(ctx, ev)
		return
	}
	d := r.Room
	if d.Type == dialogs.Broadcast || d.Type == dialogs.Public && d.Large {
		return
	}
	muted := m.muted(ctx, d.AppID, d.ID)
	for _, uid := range d.Recipients() {
		if uid == from.User() || slices.Contains(muted, uid) || m.blocks(ctx, d.AppID, uid, from) {
			continue
		}
		if m.core.Away(xmpp.User{App: d.AppID, ID: uid}) {
			ev.Recipients = append(ev.Recipients, uid)
		}
	}
	if len(ev.Recipients) > 0 {
		m.push.Notify(ctx, ev)
	}
}

// blocks reports whether member refuses group traffic from the sender.
func (m *Module) blocks(ctx context.Context, app, member int64, from xmpp.Session) bool {
	return m.lists != nil && m.lists.BlocksInbound(ctx, app, member,
		privacy.Target{UserID: from.User(), JID: from.Bare(), InRoom: true}, privacy.Message)
}

func randomID() string {
	b := make([]byte, 8)
	rand.Read(b)
	return strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b))
}
