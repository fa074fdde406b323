//go:build clients

package clients

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// tmuxClient drives a terminal client under tmux on a private server
// socket, reading its screen as a user would.
type tmuxClient struct {
	t       *testing.T
	socket  string
	session string
}

func (c *tmuxClient) tmux(args ...string) string {
	c.t.Helper()
	out, err := exec.Command("tmux", append([]string{"-L", c.socket}, args...)...).CombinedOutput()
	if err != nil {
		c.t.Fatalf("tmux %v: %v\n%s", args, err, out)
	}
	return string(out)
}

// send types a line and presses Enter.
func (c *tmuxClient) send(line string) {
	c.t.Helper()
	c.tmux("send-keys", "-t", c.session, "-l", line)
	c.tmux("send-keys", "-t", c.session, "Enter")
}

// screen is what the current window shows.
func (c *tmuxClient) screen() string { return c.tmux("capture-pane", "-p", "-t", c.session) }

// waitFor polls the screen (for at most 20 s) until it shows every want.
func (c *tmuxClient) waitFor(want ...string) string {
	c.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		s := c.screen()
		missing := ""
		for _, w := range want {
			if !strings.Contains(s, w) {
				missing = w
				break
			}
		}
		if missing == "" {
			return s
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("the screen never showed %q:\n%s", missing, s)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// profanity starts Debian's profanity with its own home in a tmux session
// on socket and signs it in as jid.
func profanity(t *testing.T, socket, name, jid, password string, port int) *tmuxClient {
	home := t.TempDir()
	c := &tmuxClient{t: t, socket: socket, session: name}
	cmd := fmt.Sprintf("env HOME=%[1]s XDG_CONFIG_HOME=%[1]s/.config XDG_DATA_HOME=%[1]s/.local/share TERM=xterm-256color profanity -l DEBUG", home)
	c.tmux("new-session", "-d", "-s", name, "-x", "200", "-y", "50", cmd)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("%s's screen:\n%s", name, c.screen())
			if b, err := os.ReadFile(filepath.Join(home, ".local/share/profanity/logs/profanity.log")); err == nil {
				t.Logf("%s's profanity log (tail):\n%s", name, tail(string(b), 4000))
			}
		}
	})
	c.waitFor("/connect")
	c.send(fmt.Sprintf("/connect %s server 127.0.0.1 port %d tls trust", jid, port))
	c.waitFor("password")
	c.send(password)
	c.waitFor("logged in successfully")
	return c
}

// TestTerminalClient: Debian's profanity, typed at under tmux, discovers the
// room service, creates a room by joining, sets its subject, talks, invites
// a second profanity user (who is offline, and gets the invitation on
// signing in), who joins with his own nick to the history and answers; the
// first leaves, finds the room listed and joins again to the history. The
// commands are those in docs/clients.md.
func TestTerminalClient(t *testing.T) {
	for _, bin := range []string{"tmux", "profanity"} {
		if _, err := exec.LookPath(bin); err != nil {
			t.Fatalf("%s is missing: scripts/deps.sh installs it", bin)
		}
	}
	n := startNode(t)
	// Standard clients expect every message archived: an app with that policy.
	var app struct {
		App struct {
			ID int64 `json:"id"`
		} `json:"app"`
	}
	n.admin_(t, "POST", "/api/apps", map[string]any{"name": "terminal", "archive_all": true}, &app)
	jid := func(login string) string {
		var user struct {
			User struct {
				ID int64 `json:"id"`
			} `json:"user"`
		}
		n.admin_(t, "POST", fmt.Sprintf("/api/apps/%d/users", app.App.ID), map[string]string{"login": login, "password": login + "-password"}, &user)
		return fmt.Sprintf("%d-%d@localhost", user.User.ID, app.App.ID)
	}
	carolJID, daveJID := jid("carol"), jid("dave")
	socket := fmt.Sprintf("parley-test-%d", os.Getpid())
	t.Cleanup(func() { exec.Command("tmux", "-L", socket, "kill-server").Run() })

	carol := profanity(t, socket, "carol", carolJID, "carol-password", n.c2s)
	carol.send("/disco items localhost")
	carol.waitFor("muc.localhost, (Rooms)")
	carol.send("/join lounge@muc.localhost nick carol")
	carol.waitFor("You have joined the room as carol", "affiliation: owner", "/room accept")
	carol.send("/room accept")
	carol.send("/subject set Friday plans")
	carol.send("hello, anyone here?")
	carol.send("a second line")
	carol.waitFor("carol has set the room subject: Friday plans", "carol: hello, anyone here?", "carol: a second line")
	carol.send("/invite send " + daveJID + " come to the lounge")

	dave := profanity(t, socket, "dave", daveJID, "dave-password", n.c2s)
	dave.waitFor("Chat room invite received", "Room   : lounge@muc.localhost", "come to the lounge")
	dave.send("/join lounge@muc.localhost nick dave")
	dave.waitFor("You have joined the room as dave, role: participant, affiliation: member", "carol: hello, anyone here?", "Friday plans")
	dave.send("hi carol, got your invite")
	carol.waitFor("dave: hi carol, got your invite")

	carol.send("/close")
	carol.send("/rooms service muc.localhost")
	carol.waitFor("lounge@muc.localhost (lounge)")
	// Back in: a new window whose lines can only come from the archive.
	carol.send("/join lounge@muc.localhost nick carol")
	s := carol.waitFor("You have joined the room as carol", "carol: a second line", "dave: hi carol, got your invite")
	if strings.Contains(s, "Room locked") {
		t.Fatalf("the room was created again:\n%s", s)
	}
}
func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}
