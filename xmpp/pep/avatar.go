package pep

import (
	"bytes"
	"context"
	"crypto/sha1"
	"encoding/base64"
	"encoding/hex"
	"encoding/xml"
	"io"
	"mime"

	"github.com/parley-chat/parley/accounts"
	"github.com/parley-chat/parley/files"
	"github.com/parley-chat/parley/pubsub"
	"github.com/parley-chat/parley/xmpp"
)

// The PEP avatar (XEP-0084) and the profile's (REST, the SDK, vCard) are
// one picture, as XEP-0398 keeps them: publishing avatar metadata sets the
// profile's avatar to the published image, and setting the profile's
// avatar publishes it.

const (
	nsAvatarData = "urn:xmpp:avatar:data"
	nsAvatarMeta = "urn:xmpp:avatar:metadata"
	// maxPEPAvatar bounds the profile pictures published inline to PEP.
	maxPEPAvatar = 128 << 10
)

// Avatars links PEP avatars to the profile: New(...).WithAvatars(...).
func (m *Module) WithAvatars(acc *accounts.Service, fs *files.Service) *Module {
	m.accounts, m.files = acc, fs
	return m
}

type fromPEP struct{}

// avatarPublished follows a metadata publish: the data item it names
// becomes the profile's avatar (a public image file).
func (m *Module) avatarPublished(ctx context.Context, u xmpp.User, payload string) {
	if m.accounts == nil || m.files == nil {
		return
	}
	var md struct {
		Info []struct {
			ID   string `xml:"id,attr"`
			Type string `xml:"type,attr"`
			URL  string `xml:"url,attr"`
		} `xml:"info"`
	}
	if xml.Unmarshal([]byte(payload), &md) != nil {
		return
	}
	ctx = context.WithValue(ctx, fromPEP{}, true)
	var avatar string
	for _, in := range md.Info {
		if in.URL != "" {
			continue
		}
		items, err := m.nodes.Items(ctx, owner(u), nsAvatarData, []string{in.ID}, 1)
		if err != nil || len(items) == 0 {
			return
		}
		var d struct {
			Data string `xml:",chardata"`
		}
		xml.Unmarshal([]byte(items[0].Payload), &d)
		data, err := base64.StdEncoding.DecodeString(string(bytes.Join(bytes.Fields([]byte(d.Data)), nil)))
		if err != nil {
			return
		}
		name := "avatar"
		if exts, _ := mime.ExtensionsByType(in.Type); len(exts) > 0 {
			name += exts[0]
		}
		b, t, err := m.files.CreateSlot(ctx, u.App, u.ID, name, in.Type, int64(len(data)), true)
		if err == nil {
			_, err = m.files.Upload(ctx, t, bytes.NewReader(data))
		}
		if err != nil {
			return
		}
		avatar = b.UID
		break
	}
	m.accounts.UpdateUser(ctx, u.App, u.ID, accounts.UserInput{Avatar: &avatar}, false)
}

// ProfileAvatar publishes a profile avatar set elsewhere (REST, vCard) to
// the user's PEP avatar nodes; "" stops the avatar. It is accounts'
// AvatarSet.
func (m *Module) ProfileAvatar(ctx context.Context, app, user int64, avatar string) {
	if ctx.Value(fromPEP{}) != nil || m.files == nil {
		return
	}
	u := xmpp.User{App: app, ID: user}
	open := pubsub.Options{Access: pubsub.Open}
	if avatar == "" || !files.ValidUID(avatar) {
		if n, _, err := m.nodes.Publish(ctx, owner(u), nsAvatarMeta, pubsub.Item{ID: "current", Payload: `<metadata xmlns="` + nsAvatarMeta + `"/>`}, open, false); err == nil {
			m.notify(ctx, u, n, `<items node="`+nsAvatarMeta+`"><item id="current"><metadata xmlns="`+nsAvatarMeta+`"/></item></items>`)
		}
		return
	}
	b, c, err := m.files.Open(ctx, 0, 0, avatar)
	if err != nil {
		return
	}
	data, err := io.ReadAll(io.LimitReader(c, maxPEPAvatar+1))
	c.Close()
	if err != nil || len(data) > maxPEPAvatar {
		return
	}
	sum := sha1.Sum(data)
	id := hex.EncodeToString(sum[:])
	if _, _, err := m.nodes.Publish(ctx, owner(u), nsAvatarData, pubsub.Item{ID: id, Payload: `<data xmlns="` + nsAvatarData + `">` + base64.StdEncoding.EncodeToString(data) + `</data>`}, open, false); err != nil {
		return
	}
	info := `<info id="` + id + `" type="` + esc(b.ContentType) + `" bytes="` + itoa(len(data)) + `"`
	if b.Width > 0 {
		info += ` width="` + itoa(b.Width) + `" height="` + itoa(b.Height) + `"`
	}
	meta := `<metadata xmlns="` + nsAvatarMeta + `">` + info + `/></metadata>`
	if n, _, err := m.nodes.Publish(ctx, owner(u), nsAvatarMeta, pubsub.Item{ID: id, Payload: meta}, open, false); err == nil {
		m.notify(ctx, u, n, `<items node="`+nsAvatarMeta+`"><item id="`+id+`">`+meta+`</item></items>`)
	}
}
