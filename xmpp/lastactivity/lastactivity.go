// Package lastactivity is XEP-0012 Last Activity for accounts and the
// ConnectyCube status-streaming subscription (spec 3.12): a session
// subscribes to a user's status and is pushed seconds="0" when the user
// comes online and seconds="1" when the user's last session ends, on any
// node of the cluster. A user who blocks the asker is not told.
package lastactivity

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"errors"
	"strconv"
	"strings"
	"time"

	"mellium.im/xmpp/stanza"

	"github.com/parley-chat/parley/accounts"
	"github.com/parley-chat/parley/internal/xmltext"
	"github.com/parley-chat/parley/privacy"
	"github.com/parley-chat/parley/xmpp"
)

// Namespaces.
const (
	NS          = "jabber:iq:last"
	NSStatusSub = "https://connectycube.com/protocol/status_streaming"
)

// DefaultMaxSubscriptions bounds the status subscriptions a user holds on
// a node.
const DefaultMaxSubscriptions = 100

// Module answers last-activity requests and keeps status subscriptions.
type Module struct {
	accounts *accounts.Service
	lists    *privacy.Service // nil: nobody is hidden
	max      int
	core     xmpp.Core
	w        watchers
}

// New returns the module; max bounds each user's subscriptions on a node
// (DefaultMaxSubscriptions when <= 0).
func New(acc *accounts.Service, lists *privacy.Service, max int) *Module {
	if max <= 0 {
		max = DefaultMaxSubscriptions
	}
	return &Module{accounts: acc, lists: lists, max: max}
}

// Register implements xmpp.Module.
func (m *Module) Register(r *xmpp.Registry) {
	m.core = r.Core()
	r.Feature(xmpp.ServerEntity, NS)
	r.Feature(xmpp.AccountEntity, NS)
	r.HandleAccountIQ("get", NS, "query", m.last)
	r.HandleIQ("set", NSStatusSub, "subscribe", m.subscribe)
	r.OnSessionEnd(func(s xmpp.Session) {
		for _, t := range m.w.drop(s) {
			m.core.WatchStatus(t, false)
		}
	})
	r.OnUserStatus(m.announce)
}

// blocks reports whether target's lists hide it from asker.
func (m *Module) blocks(ctx context.Context, target xmpp.User, asker xmpp.Session) bool {
	return m.lists != nil && m.lists.BlocksInbound(ctx, target.App, target.ID, privacy.Target{UserID: asker.User(), JID: asker.JID()}, privacy.IQ)
}

// last answers jabber:iq:last for an account: 0 while online, else the
// seconds since its last session ended. The reply comes from the account's
// bare JID (the SDK reads the user id from it).
func (m *Module) last(ctx context.Context, s xmpp.Session, u xmpp.User, iq *xmpp.IQ) []byte {
	if (u != xmpp.User{App: s.App(), ID: s.User()}) && m.blocks(ctx, u, s) {
		return iq.Error(s, xmpp.StanzaError{Type: stanza.Auth, Condition: stanza.Forbidden, Text: "Not allowed."})
	}
	secs, err := m.seconds(ctx, u)
	if errors.Is(err, accounts.ErrNotFound) {
		return iq.Error(s, xmpp.StanzaError{Type: stanza.Cancel, Condition: stanza.ItemNotFound, Text: "No such user."})
	}
	if err != nil {
		return iq.Error(s, xmpp.ErrInternal)
	}
	iq.To = m.core.UserJID(u)
	return iq.Result(s, `<query xmlns="`+NS+`" seconds="`+strconv.FormatInt(secs, 10)+`"/>`)
}

func (m *Module) seconds(ctx context.Context, u xmpp.User) (int64, error) {
	if m.core.Online(u) {
		return 0, nil
	}
	if m.accounts == nil {
		return 0, accounts.ErrNotFound
	}
	at, err := m.accounts.LastSeen(ctx, u.App, u.ID)
	if err != nil {
		return 0, err
	}
	if at.IsZero() {
		return 0, accounts.ErrNotFound
	}
	return max(int64(time.Since(at).Seconds()), 1), nil
}

// subscribe turns a status subscription on or off.
func (m *Module) subscribe(_ context.Context, s xmpp.Session, iq *xmpp.IQ) []byte {
	target, ok := m.core.UserOf(iq.Attr("user_jid"))
	if !ok || target.App != s.App() {
		return iq.Error(s, xmpp.ErrBadRequest)
	}
	if iq.Attr("enable") == "false" {
		if m.w.remove(target, s) {
			m.core.WatchStatus(target, false)
		}
		return iq.Result(s, "")
	}
	first, ok := m.w.add(target, s, m.max)
	if !ok {
		return iq.Error(s, xmpp.StanzaError{Type: stanza.Modify, Condition: stanza.PolicyViolation,
			Text: "At most " + strconv.Itoa(m.max) + " status subscriptions per user; unsubscribe from some first."})
	}
	if first {
		m.core.WatchStatus(target, true)
	}
	return iq.Result(s, "")
}

// announce pushes a user's status to the sessions on this node that follow
// it: seconds 0 when it comes online, 1 when it leaves.
func (m *Module) announce(u xmpp.User, online bool) {
	subs := m.w.of(u)
	if len(subs) == 0 {
		return
	}
	secs := "1"
	if online {
		secs = "0"
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	from := esc(m.core.UserJID(u))
	for _, w := range subs {
		if m.blocks(ctx, u, w) {
			continue
		}
		w.Send([]byte(`<iq xmlns="jabber:client" type="result" id="` + randomID() + `" from="` + from + `" to="` + esc(w.JID()) +
			`"><query xmlns="` + NS + `" seconds="` + secs + `"/></iq>`))
	}
}

func esc(s string) string { return string(xmltext.AppendEscaped(nil, s)) }

func randomID() string {
	b := make([]byte, 10)
	rand.Read(b)
	return strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b))
}
