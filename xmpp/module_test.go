package xmpp_test

import (
	"context"
	"strings"
	"testing"

	"github.com/parley-chat/parley/xmpp"
)

type echoModule struct{}

func (echoModule) Register(r *xmpp.Registry) {
	r.Feature(xmpp.ServerEntity, "urn:test:echo")
	r.HandleIQ("get", "urn:test:echo", "echo", func(_ context.Context, s xmpp.Session, iq *xmpp.IQ) []byte {
		return iq.Result(s, `<echo xmlns="urn:test:echo">`+s.Bare()+`</echo>`)
	})
}

// A module's IQ handler answers requests to the server and its feature is
// in the server's disco#info, which lists exactly what was registered.
func TestModulesRegisterHandlersAndFeatures(t *testing.T) {
	e := newEnv(t, func(c *xmpp.Config) { c.Modules = append(c.Modules, echoModule{}) })
	alice, _ := e.user("alice", "alice-password")
	c := e.login(viaTLS, alice, "alice-password")
	c.send(`<iq type="get" id="e1"><echo xmlns="urn:test:echo"/></iq>`)
	if got := c.readUntil(`id="e1"`); !strings.Contains(got, `<echo xmlns="urn:test:echo">`+alice+`@localhost</echo>`) {
		t.Fatalf("echo: %s", got)
	}
	c.send(`<iq type="get" id="d1"><query xmlns="http://jabber.org/protocol/disco#info"/></iq>`)
	got := c.readUntil(`id="d1"`)
	for _, f := range []string{"urn:test:echo", "urn:xmpp:ping", "jabber:iq:version", "urn:xmpp:sm:3", "urn:xmpp:carbons:2"} {
		if !strings.Contains(got, `var="`+f+`"`) {
			t.Errorf("disco#info lacks %s: %s", f, got)
		}
	}
	c.send(`<iq type="set" id="e2"><echo xmlns="urn:test:echo"/></iq>`) // only get is registered
	if got := c.readUntil(`id="e2"`); !strings.Contains(got, "service-unavailable") {
		t.Fatalf("unregistered type: %s", got)
	}
}

func TestRegistryRefusesDuplicates(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("two handlers for one request were accepted")
		}
	}()
	var r xmpp.Registry
	echoModule{}.Register(&r)
	echoModule{}.Register(&r)
}

// A user's bare JID answers as the account, not as the server (RFC 6121
// 8.5.1): disco#info with identity account/registered; ping; and
// service-unavailable for what only a resource could answer.
func TestAccountAddressAnswersForTheAccount(t *testing.T) {
	e := newEnv(t, nil)
	alice, _ := e.user("alice", "alice-password")
	bob, _ := e.user("bob", "bob-password")
	c := e.login(viaTLS, alice, "alice-password")
	for i, to := range []string{bob + "@localhost", alice + "@localhost"} {
		id := "di" + string(rune('0'+i))
		c.send(`<iq type="get" id="` + id + `" to="` + to + `"><query xmlns="http://jabber.org/protocol/disco#info"/></iq>`)
		got := c.readUntil(`id="` + id + `"`)
		if !strings.Contains(got, `category="account" type="registered"`) || strings.Contains(got, `category="server"`) || !strings.Contains(got, `from="`+to+`"`) {
			t.Fatalf("disco#info of %s: %s", to, got)
		}
	}
	c.send(`<iq type="get" id="p1" to="` + bob + `@localhost"><ping xmlns="urn:xmpp:ping"/></iq>`)
	if got := c.readUntil(`id="p1"`); !strings.Contains(got, `type="result"`) {
		t.Fatalf("ping to a bare JID: %s", got)
	}
	c.send(`<iq type="get" id="v1" to="` + bob + `@localhost"><query xmlns="jabber:iq:version"/></iq>`)
	if got := c.readUntil(`id="v1"`); !strings.Contains(got, "service-unavailable") {
		t.Fatalf("version of an account: %s", got)
	}
}
