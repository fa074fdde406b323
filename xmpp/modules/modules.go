// Package modules lists the extensions a Parley node serves by default, as
// Prosody's modules_enabled does: the one place that names them all.
package modules

import (
	"github.com/parley-chat/parley/xmpp"
	"github.com/parley-chat/parley/xmpp/carbons"
	"github.com/parley-chat/parley/xmpp/clientstate"
	"github.com/parley-chat/parley/xmpp/ping"
	"github.com/parley-chat/parley/xmpp/version"
)

// Standard returns the default extensions.
func Standard() []xmpp.Module {
	return []xmpp.Module{
		ping.Module{},
		carbons.New(),
		clientstate.Module{},
		version.Module{Name: "Parley", Version: xmpp.Version},
	}
}
