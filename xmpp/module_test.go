package xmpp_test

import (
	"context"
	"os"
	"sort"
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

// docFeatures reads docs/xeps.md: the disco features each entity announces.
func docFeatures(t *testing.T) map[string][]string {
	t.Helper()
	b, err := os.ReadFile("../docs/xeps.md")
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]string{}
	for _, line := range strings.Split(string(b), "\n") {
		cols := strings.Split(line, "|")
		if len(cols) < 8 || !strings.HasPrefix(strings.TrimSpace(cols[4]), "`") {
			continue
		}
		feature := strings.Trim(strings.TrimSpace(cols[4]), "`")
		for _, where := range strings.Split(cols[5], ",") {
			out[strings.TrimSpace(where)] = append(out[strings.TrimSpace(where)], feature)
		}
	}
	return out
}

func discoFeatures(s string) []string {
	var fs []string
	for _, part := range strings.Split(s, `<feature var="`)[1:] {
		fs = append(fs, part[:strings.Index(part, `"`)])
	}
	sort.Strings(fs)
	return fs
}

// The features disco#info lists are exactly those docs/xeps.md names.
func TestDiscoMatchesDocs(t *testing.T) {
	e := newChatEnv(t)
	aJID, _ := e.user("ann", "ann-password")
	a := e.login(viaTLS, aJID, "ann-password")
	want := docFeatures(t)
	for _, tc := range []struct{ entity, to string }{{"server", ""}, {"account", aJID + "@localhost"}} {
		to := ""
		if tc.to != "" {
			to = ` to="` + tc.to + `"`
		}
		a.send(`<iq type="get" id="d-` + tc.entity + `"` + to + `><query xmlns="http://jabber.org/protocol/disco#info"/></iq>`)
		got := discoFeatures(a.readUntil(`id="d-` + tc.entity + `"`))
		w := append([]string(nil), want[tc.entity]...)
		sort.Strings(w)
		if strings.Join(got, " ") != strings.Join(w, " ") {
			t.Errorf("%s disco#info lists\n  %v\ndocs/xeps.md names\n  %v", tc.entity, got, w)
		}
	}
}
