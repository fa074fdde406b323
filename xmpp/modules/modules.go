// Package modules lists the extensions a Parley node serves by default, as
// Prosody's modules_enabled does: the one place that names them all.
package modules

import (
	"github.com/parley-chat/parley/accounts"
	"github.com/parley-chat/parley/dialogs"
	"github.com/parley-chat/parley/files"
	"github.com/parley-chat/parley/history"
	"github.com/parley-chat/parley/privacy"
	"github.com/parley-chat/parley/privatexml"
	"github.com/parley-chat/parley/pubsub"
	"github.com/parley-chat/parley/push"
	"github.com/parley-chat/parley/rosters"
	"github.com/parley-chat/parley/xmpp"
	"github.com/parley-chat/parley/xmpp/carbons"
	"github.com/parley-chat/parley/xmpp/clientstate"
	"github.com/parley-chat/parley/xmpp/lastactivity"
	"github.com/parley-chat/parley/xmpp/mam"
	"github.com/parley-chat/parley/xmpp/moderation"
	"github.com/parley-chat/parley/xmpp/pep"
	"github.com/parley-chat/parley/xmpp/ping"
	"github.com/parley-chat/parley/xmpp/privacylists"
	"github.com/parley-chat/parley/xmpp/private"
	"github.com/parley-chat/parley/xmpp/pushes"
	"github.com/parley-chat/parley/xmpp/roster"
	"github.com/parley-chat/parley/xmpp/upload"
	"github.com/parley-chat/parley/xmpp/vcard"
	"github.com/parley-chat/parley/xmpp/version"
)

// Deps are the domain services the extensions serve from; a nil one leaves
// its extensions out.
type Deps struct {
	Privacy  *privacy.Service
	History  *history.Archive
	MAM      *history.MAM
	Accounts *accounts.Service
	Dialogs  *dialogs.Service
	Rosters  *rosters.Service
	Push     *push.Service
	// StatusSubscriptions bounds a user's status subscriptions on a node
	// (lastactivity.DefaultMaxSubscriptions when 0).
	StatusSubscriptions int
	// Files and UploadURL (the HTTP API's address as clients reach it)
	// serve HTTP File Upload.
	Files     *files.Service
	UploadURL string
	// PrivateXML serves Private XML Storage (and vCards).
	PrivateXML *privatexml.Storage
	// Pubsub serves PEP (with Rosters).
	Pubsub *pubsub.Service
}

// Standard returns the default extensions.
func Standard(d Deps) []xmpp.Module {
	ms := []xmpp.Module{
		ping.Module{},
		version.Module{Name: "Parley", Version: xmpp.Version},
		carbons.New(),
		clientstate.Module{},
		lastactivity.New(d.Accounts, d.Privacy, d.StatusSubscriptions),
	}
	if d.Privacy != nil {
		ms = append(ms, privacylists.New(d.Privacy))
	}
	if d.History != nil {
		ms = append(ms, moderation.New(d.History))
	}
	if d.Rosters != nil {
		ms = append(ms, roster.New(d.Rosters))
	}
	if d.Push != nil {
		ms = append(ms, pushes.New(d.Push, d.Dialogs, d.Privacy))
	}
	if d.MAM != nil {
		ms = append(ms, mam.New(d.MAM))
	}
	if d.PrivateXML != nil {
		ms = append(ms, private.New(d.PrivateXML))
	}
	if d.Pubsub != nil && d.Rosters != nil {
		p := pep.New(d.Pubsub, d.Rosters)
		if d.Accounts != nil && d.Files != nil {
			p.WithAvatars(d.Accounts, d.Files)
			d.Accounts.AvatarSet = p.ProfileAvatar
		}
		ms = append(ms, p)
	}
	if d.Accounts != nil && d.Files != nil && d.PrivateXML != nil {
		ms = append(ms, vcard.New(d.Accounts, d.Files, d.PrivateXML, d.UploadURL))
	}
	if d.Files != nil && d.UploadURL != "" {
		ms = append(ms, upload.New(d.Files, d.UploadURL))
	}
	return ms
}
