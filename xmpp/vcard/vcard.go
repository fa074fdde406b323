// Package vcard is vcard-temp (XEP-0054) over the user profile: FN is the
// user's full name, PHOTO the user's avatar (a public image file, so REST
// and the SDK see the same picture), EMAIL the user's email (in their own
// vCard only); the other fields a client sets are kept as it sent them.
package vcard

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/xml"
	"errors"
	"io"
	"mime"
	"strings"

	"mellium.im/xmpp/stanza"

	"github.com/parley-chat/parley/accounts"
	"github.com/parley-chat/parley/files"
	"github.com/parley-chat/parley/internal/xmltext"
	"github.com/parley-chat/parley/privatexml"
	"github.com/parley-chat/parley/xmpp"
)

// NS is vcard-temp's namespace.
const NS = "vcard-temp"

// maxInlinePhoto is the largest avatar sent inline (BINVAL); a larger one
// is given by URL (EXTVAL).
const maxInlinePhoto = 256 << 10

// Module serves vCards.
type Module struct {
	accounts *accounts.Service
	files    *files.Service
	docs     *privatexml.Storage
	base     string // the HTTP API's address, for EXTVAL URLs
}

// New serves vCards from the profile, the files and the stored documents.
func New(acc *accounts.Service, fs *files.Service, docs *privatexml.Storage, baseURL string) *Module {
	return &Module{accounts: acc, files: fs, docs: docs, base: baseURL}
}

var key = privatexml.Key(NS, "vCard")

// Register implements xmpp.Module.
func (m *Module) Register(r *xmpp.Registry) {
	r.HandleIQ("get", NS, "vCard", func(ctx context.Context, s xmpp.Session, iq *xmpp.IQ) []byte {
		return m.get(ctx, s, xmpp.User{App: s.App(), ID: s.User()}, iq)
	})
	r.HandleAccountIQ("get", NS, "vCard", m.get)
	r.HandleIQ("set", NS, "vCard", m.set)
	r.HandleAccountIQ("set", NS, "vCard", func(ctx context.Context, s xmpp.Session, u xmpp.User, iq *xmpp.IQ) []byte {
		if u.App != s.App() || u.ID != s.User() {
			return iq.Error(s, xmpp.StanzaError{Type: stanza.Auth, Condition: stanza.Forbidden, Text: "A vCard is set by its owner."})
		}
		return m.set(ctx, s, iq)
	})
	r.Feature(xmpp.ServerEntity, NS)
	r.Feature(xmpp.AccountEntity, NS)
}

func esc(s string) string { return string(xmltext.AppendEscaped(nil, s)) }

// fields splits a vCard into its top-level children: name and bytes.
func fields(raw []byte) (map[string][]byte, []string, error) {
	d := xml.NewDecoder(bytes.NewReader(raw))
	out, order := map[string][]byte{}, []string(nil)
	depth := 0
	for {
		off := d.InputOffset()
		tok, err := d.Token()
		if err == io.EOF {
			return out, order, nil
		}
		if err != nil {
			return nil, nil, err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			depth++
			if depth == 2 {
				if err := d.Skip(); err != nil {
					return nil, nil, err
				}
				depth--
				if _, dup := out[t.Name.Local]; !dup {
					order = append(order, t.Name.Local)
				}
				out[t.Name.Local] = append(out[t.Name.Local], raw[off:d.InputOffset()]...)
			}
		case xml.EndElement:
			depth--
		}
	}
}

func (m *Module) get(ctx context.Context, s xmpp.Session, u xmpp.User, iq *xmpp.IQ) []byte {
	user, err := m.accounts.User(ctx, u.App, u.ID)
	if errors.Is(err, accounts.ErrNotFound) {
		return iq.Error(s, xmpp.StanzaError{Type: stanza.Cancel, Condition: stanza.ItemNotFound, Text: "No such user."})
	}
	if err != nil {
		return iq.Error(s, xmpp.ErrInternal)
	}
	stored, err := m.docs.Get(ctx, privatexml.Owner{AppID: u.App, UserID: u.ID}, key)
	if err != nil {
		return iq.Error(s, xmpp.ErrInternal)
	}
	kept, order, _ := fields([]byte(stored))
	var b strings.Builder
	b.WriteString(`<vCard xmlns="` + NS + `">`)
	if user.FullName != "" {
		b.WriteString(`<FN>` + esc(user.FullName) + `</FN>`)
	}
	if _, ok := kept["NICKNAME"]; !ok && user.Login != "" {
		b.WriteString(`<NICKNAME>` + esc(user.Login) + `</NICKNAME>`)
	}
	for _, name := range order {
		if name != "FN" && name != "PHOTO" && name != "EMAIL" {
			b.Write(kept[name]) // parsed when stored: well-formed, in the vcard-temp namespace
		}
	}
	if user.Email != "" && u.App == s.App() && u.ID == s.User() {
		b.WriteString(`<EMAIL><INTERNET/><USERID>` + esc(user.Email) + `</USERID></EMAIL>`)
	}
	b.WriteString(m.photo(ctx, user.Avatar))
	b.WriteString(`</vCard>`)
	return iq.Result(s, b.String())
}

// photo renders the avatar: inline when it is a small file here, else by URL.
func (m *Module) photo(ctx context.Context, avatar string) string {
	switch {
	case avatar == "":
		return ""
	case !files.ValidUID(avatar):
		return `<PHOTO><EXTVAL>` + esc(avatar) + `</EXTVAL></PHOTO>`
	}
	b, c, err := m.files.Open(ctx, 0, 0, avatar)
	if err != nil {
		return ""
	}
	defer c.Close()
	if b.Size > maxInlinePhoto {
		return `<PHOTO><EXTVAL>` + esc(m.base+"/blobs/"+b.UID) + `</EXTVAL></PHOTO>`
	}
	data, err := io.ReadAll(io.LimitReader(c, maxInlinePhoto))
	if err != nil {
		return ""
	}
	return `<PHOTO><TYPE>` + esc(b.ContentType) + `</TYPE><BINVAL>` + base64.StdEncoding.EncodeToString(data) + `</BINVAL></PHOTO>`
}

func (m *Module) set(ctx context.Context, s xmpp.Session, iq *xmpp.IQ) []byte {
	raw := iq.Raw()
	var v struct {
		FN    *string `xml:"FN"`
		Photo *struct {
			Type   string `xml:"TYPE"`
			BinVal string `xml:"BINVAL"`
			ExtVal string `xml:"EXTVAL"`
		} `xml:"PHOTO"`
	}
	kept, order, err := fields(raw)
	if err != nil || xml.Unmarshal(raw, &v) != nil {
		return iq.Error(s, xmpp.ErrBadRequest)
	}
	in := accounts.UserInput{FullName: v.FN}
	if p := v.Photo; p != nil {
		avatar := strings.TrimSpace(p.ExtVal)
		if bin := strings.Join(strings.Fields(p.BinVal), ""); bin != "" {
			uid, se, ok := m.upload(ctx, s, p.Type, bin)
			if !ok {
				return iq.Error(s, se)
			}
			avatar = uid
		}
		in.Avatar = &avatar
	}
	if in.FullName != nil || in.Avatar != nil {
		if _, err := m.accounts.UpdateUser(ctx, s.App(), s.User(), in, false); err != nil {
			return iq.Error(s, refusal(err))
		}
	}
	var doc strings.Builder
	doc.WriteString(`<vCard xmlns="` + NS + `">`)
	for _, name := range order {
		if name != "PHOTO" && name != "FN" {
			doc.Write(kept[name])
		}
	}
	doc.WriteString(`</vCard>`)
	var r *privatexml.Refusal
	switch err := m.docs.Put(ctx, privatexml.Owner{AppID: s.App(), UserID: s.User()}, key, doc.String()); {
	case errors.As(err, &r):
		return iq.Error(s, xmpp.StanzaError{Type: stanza.Modify, Condition: stanza.NotAcceptable, Text: r.Msg})
	case err != nil:
		return iq.Error(s, xmpp.ErrInternal)
	}
	return iq.Result(s, "")
}

// upload stores an inline photo as a public image file of the user's.
func (m *Module) upload(ctx context.Context, s xmpp.Session, typ, b64 string) (string, xmpp.StanzaError, bool) {
	data, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		return "", xmpp.StanzaError{Type: stanza.Modify, Condition: stanza.BadRequest, Text: "PHOTO/BINVAL is not base64."}, false
	}
	if typ == "" {
		typ = "image/png"
	}
	name := "avatar"
	if exts, _ := mime.ExtensionsByType(typ); len(exts) > 0 {
		name += exts[0]
	}
	b, t, err := m.files.CreateSlot(ctx, s.App(), s.User(), name, typ, int64(len(data)), true)
	if err == nil {
		_, err = m.files.Upload(ctx, t, bytes.NewReader(data))
	}
	if err != nil {
		return "", refusal(err), false
	}
	return b.UID, xmpp.StanzaError{}, true
}

func refusal(err error) xmpp.StanzaError {
	var fr *files.Refusal
	var av accounts.ValidationError
	switch {
	case errors.As(err, &fr):
		return xmpp.StanzaError{Type: stanza.Modify, Condition: stanza.NotAcceptable, Text: "PHOTO: the image " + fr.Msg}
	case errors.As(err, &av):
		for f, msgs := range av {
			return xmpp.StanzaError{Type: stanza.Modify, Condition: stanza.NotAcceptable, Text: f + " " + strings.Join(msgs, ", ")}
		}
	}
	return xmpp.ErrInternal
}
