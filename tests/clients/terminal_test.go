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
	t      *testing.T
	socket string
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
	c.tmux("send-keys", "-t", "term", "-l", line)
	c.tmux("send-keys", "-t", "term", "Enter")
}

// screen is what the current window shows.
func (c *tmuxClient) screen() string { return c.tmux("capture-pane", "-p", "-t", "term") }

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

// TestTerminalClient: Debian's profanity, typed at under tmux, discovers the
// room service, creates a room by joining, talks in it, leaves, finds the
// room listed and joins again to the history. The commands are those in
// docs/clients.md.
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
	var user struct {
		User struct {
			ID int64 `json:"id"`
		} `json:"user"`
	}
	n.admin_(t, "POST", fmt.Sprintf("/api/apps/%d/users", app.App.ID), map[string]string{"login": "term_carol", "password": "carol-password"}, &user)
	jid := fmt.Sprintf("%d-%d@localhost", user.User.ID, app.App.ID)

	home := t.TempDir()
	c := &tmuxClient{t: t, socket: fmt.Sprintf("parley-test-%d", os.Getpid())}
	profanity := fmt.Sprintf("env HOME=%[1]s XDG_CONFIG_HOME=%[1]s/.config XDG_DATA_HOME=%[1]s/.local/share TERM=xterm-256color profanity -l DEBUG", home)
	c.tmux("new-session", "-d", "-s", "term", "-x", "200", "-y", "50", profanity)
	t.Cleanup(func() {
		if t.Failed() {
			if b, err := os.ReadFile(filepath.Join(home, ".local/share/profanity/logs/profanity.log")); err == nil {
				t.Logf("profanity log (tail):\n%s", tail(string(b), 4000))
			}
		}
		exec.Command("tmux", "-L", c.socket, "kill-server").Run()
	})
	c.waitFor("/connect")

	c.send(fmt.Sprintf("/connect %s server 127.0.0.1 port %d tls trust", jid, n.c2s))
	c.waitFor("password")
	c.send("carol-password")
	c.waitFor("logged in successfully")

	c.send("/disco items localhost")
	c.waitFor("muc.localhost, (Rooms)")

	c.send("/join termroom@muc.localhost nick carol")
	c.waitFor("You have joined the room as carol", "affiliation: owner", "/room accept")
	c.send("/room accept")
	c.send("hello from profanity")
	c.send("a second line")
	c.waitFor("carol: hello from profanity", "carol: a second line")
	c.send("/close")

	c.send("/rooms service muc.localhost")
	c.waitFor("termroom@muc.localhost (termroom)")

	// Back in: a new window whose lines can only come from the archive.
	c.send("/join termroom@muc.localhost nick carol")
	s := c.waitFor("You have joined the room as carol", "carol: hello from profanity", "carol: a second line")
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
