// Package mam is XEP-0313 Message Archive Management (urn:xmpp:mam:2) over
// the archive the REST history reads: a MAM result id is the message's _id
// in GET /chat/Message.json, and the same stanza-id (XEP-0359) the message
// carried when it was relayed. A query to one's own account (or to the
// server) reads the 1-1 archive; a query to a room reads the room's.
// Paging is RSM (XEP-0059) by message id.
package mam

import (
	"context"
	"encoding/xml"
	"errors"
	"strconv"
	"strings"
	"time"

	"mellium.im/xmpp/stanza"

	"github.com/parley-chat/parley/dialogs"
	"github.com/parley-chat/parley/history"
	"github.com/parley-chat/parley/internal/xmltext"
	"github.com/parley-chat/parley/xmpp"
)

// Namespaces.
const (
	NS        = "urn:xmpp:mam:2"
	nsRSM     = "http://jabber.org/protocol/rsm"
	nsData    = "jabber:x:data"
	nsForward = "urn:xmpp:forward:0"
	nsDelay   = "urn:xmpp:delay"
)

// Module answers archive queries and preferences.
type Module struct {
	archive *history.MAM
	core    xmpp.Core
}

// New returns the module over archive.
func New(archive *history.MAM) *Module { return &Module{archive: archive} }

// Register implements xmpp.Module.
func (m *Module) Register(r *xmpp.Registry) {
	m.core = r.Core()
	r.Feature(xmpp.AccountEntity, NS)
	r.Feature(xmpp.RoomEntity, NS)
	r.HandleIQ("set", NS, "query", func(ctx context.Context, s xmpp.Session, iq *xmpp.IQ) []byte {
		return m.query(ctx, s, nil, iq)
	})
	r.HandleRoomIQ("set", NS, "query", func(ctx context.Context, s xmpp.Session, d *dialogs.Dialog, iq *xmpp.IQ) []byte {
		return m.query(ctx, s, d, iq)
	})
	r.HandleIQ("get", NS, "prefs", m.prefs)
	r.HandleIQ("set", NS, "prefs", m.prefs)
}

// request is a <query/> with its form and RSM set.
type request struct {
	QueryID string `xml:"queryid,attr"`
	Form    struct {
		Fields []struct {
			Var    string   `xml:"var,attr"`
			Values []string `xml:"value"`
		} `xml:"field"`
	} `xml:"jabber:x:data x"`
	Set struct {
		Max    *int    `xml:"max"`
		After  *string `xml:"after"`
		Before *string `xml:"before"`
	} `xml:"http://jabber.org/protocol/rsm set"`
}

var (
	errBadRequest = xmpp.ErrBadRequest
	errNotFound   = xmpp.StanzaError{Type: stanza.Cancel, Condition: stanza.ItemNotFound, Text: "No such message in this archive."}
	errForbidden  = xmpp.StanzaError{Type: stanza.Auth, Condition: stanza.Forbidden, Text: "You may not read this archive."}
)

func (m *Module) query(ctx context.Context, s xmpp.Session, room *dialogs.Dialog, iq *xmpp.IQ) []byte {
	var req request
	if err := xml.Unmarshal(iq.Raw(), &req); err != nil {
		return iq.Error(s, errBadRequest)
	}
	q := history.ArchiveQuery{AppID: s.App(), Viewer: s.User()}
	owner := s.Bare()
	typ := "chat"
	if room != nil {
		q.DialogID, owner, typ = room.ID, m.core.RoomJID(room), "groupchat"
	}
	for _, f := range req.Form.Fields {
		v := ""
		if len(f.Values) > 0 {
			v = strings.TrimSpace(f.Values[0])
		}
		var err error
		switch f.Var {
		case "FORM_TYPE":
			if v != NS {
				return iq.Error(s, errBadRequest)
			}
		case "with":
			if room != nil {
				continue // a room's archive is filtered by nothing else here
			}
			u, ok := m.core.UserOf(v)
			if !ok || u.App != s.App() {
				return iq.Result(s, fin(true, nil)) // nobody else has 1-1 messages here
			}
			q.With = u.ID
		case "start":
			q.Start, err = time.Parse(time.RFC3339, v)
		case "end":
			q.End, err = time.Parse(time.RFC3339, v)
		case "after-id":
			q.AfterID = v
		case "before-id":
			q.BeforeID = v
		case "ids":
			q.IDs = f.Values
		}
		if err != nil {
			return iq.Error(s, errBadRequest)
		}
	}
	if req.Set.Max != nil {
		if *req.Set.Max < 0 {
			return iq.Error(s, errBadRequest)
		}
		q.Max = *req.Set.Max
		if q.Max == 0 {
			q.Max = 1 // RSM max 0 asks for the count only; one is the least a page holds here
		}
	}
	if req.Set.After != nil && *req.Set.After != "" {
		q.AfterID = *req.Set.After
	}
	if req.Set.Before != nil {
		q.Before = true
		if *req.Set.Before != "" {
			q.BeforeID = *req.Set.Before
		}
	}
	page, err := m.archive.Query(ctx, q)
	if err != nil {
		return iq.Error(s, archiveError(err))
	}
	for i := range page.Messages {
		msg := &page.Messages[i]
		from, to := m.core.UserJID(xmpp.User{App: s.App(), ID: msg.SenderID}), ""
		if room != nil {
			from = owner + "/" + strconv.FormatInt(msg.SenderID, 10)
		} else if msg.RecipientID != 0 {
			to = m.core.UserJID(xmpp.User{App: s.App(), ID: msg.RecipientID})
		}
		s.Send(result(s.JID(), owner, req.QueryID, msg, m.core.HistoryStanza(msg, typ, from, to, owner)))
	}
	return iq.Result(s, fin(page.Complete, page))
}

// result wraps one archived message for the requester.
func result(to, from, queryID string, msg *history.Message, inner []byte) []byte {
	b := make([]byte, 0, len(inner)+384)
	b = append(b, `<message xmlns="jabber:client" to="`...)
	b = xmltext.AppendEscaped(b, to)
	b = append(b, `" from="`...)
	b = xmltext.AppendEscaped(b, from)
	b = append(b, `"><result xmlns="`+NS+`"`...)
	if queryID != "" {
		b = append(b, ` queryid="`...)
		b = xmltext.AppendEscaped(b, queryID)
		b = append(b, '"')
	}
	b = append(b, ` id="`...)
	b = xmltext.AppendEscaped(b, msg.ID)
	b = append(b, `"><forwarded xmlns="`+nsForward+`"><delay xmlns="`+nsDelay+`" stamp="`...)
	b = append(b, time.Unix(msg.DateSent, 0).UTC().Format("2006-01-02T15:04:05Z")...)
	b = append(b, `"/>`...)
	b = append(b, inner...)
	return append(b, `</forwarded></result></message>`...)
}

// fin is the IQ result closing a query.
func fin(complete bool, page *history.ArchivePage) string {
	var b strings.Builder
	b.WriteString(`<fin xmlns="` + NS + `" complete="` + strconv.FormatBool(complete) + `"><set xmlns="` + nsRSM + `">`)
	if page != nil && page.FirstID != "" {
		b.WriteString(`<first>` + esc(page.FirstID) + `</first><last>` + esc(page.LastID) + `</last>`)
	}
	if page != nil && page.Count >= 0 {
		b.WriteString(`<count>` + strconv.Itoa(page.Count) + `</count>`)
	} else if page == nil {
		b.WriteString(`<count>0</count>`)
	}
	b.WriteString(`</set></fin>`)
	return b.String()
}

func esc(s string) string { return string(xmltext.AppendEscaped(nil, s)) }

func archiveError(err error) xmpp.StanzaError {
	if se, ok := xmpp.QuotaError(err); ok {
		return se
	}
	switch {
	case errors.Is(err, history.ErrNotFound), errors.Is(err, dialogs.ErrNotFound):
		return errNotFound
	case errors.Is(err, history.ErrForbidden), errors.Is(err, dialogs.ErrForbidden):
		return errForbidden
	case errors.Is(err, history.ErrInvalid):
		return errBadRequest
	}
	return xmpp.ErrInternal
}

// prefs answers <prefs/> gets and sets.
func (m *Module) prefs(ctx context.Context, s xmpp.Session, iq *xmpp.IQ) []byte {
	var p *history.ArchivePrefs
	var err error
	if iq.Type == "set" {
		var req struct {
			Default string   `xml:"default,attr"`
			Always  []string `xml:"always>jid"`
			Never   []string `xml:"never>jid"`
		}
		if xml.Unmarshal(iq.Raw(), &req) != nil {
			return iq.Error(s, errBadRequest)
		}
		p, err = m.archive.SetPrefs(ctx, s.App(), s.User(), history.ArchivePrefs{Default: req.Default, Always: req.Always, Never: req.Never})
	} else {
		p, err = m.archive.Prefs(ctx, s.App(), s.User())
	}
	if err != nil {
		return iq.Error(s, archiveError(err))
	}
	var b strings.Builder
	b.WriteString(`<prefs xmlns="` + NS + `" default="` + esc(p.Default) + `"><always>`)
	for _, j := range p.Always {
		b.WriteString(`<jid>` + esc(j) + `</jid>`)
	}
	b.WriteString(`</always><never>`)
	for _, j := range p.Never {
		b.WriteString(`<jid>` + esc(j) + `</jid>`)
	}
	b.WriteString(`</never></prefs>`)
	return iq.Result(s, b.String())
}
