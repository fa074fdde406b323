//go:build clients

// Package clients runs real third-party clients against the parley binary:
// the unmodified connectycube@6.1.2 SDK under Node, Debian's slixmpp, and
// Debian's profanity typed at under tmux.
// `make test` installs them (scripts/deps.sh); a missing client fails.
package clients

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/parley-chat/parley/internal/testenv"
)

type node struct {
	cmd                       *exec.Cmd
	data                      string
	c2s, tls, ws, http, admin int
	adminToken, authKey       string
	log                       *bytes.Buffer
}

func freePort(t *testing.T) int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

func startNode(t *testing.T, extra ...string) *node {
	bin := os.Getenv("PARLEY_BIN")
	if bin == "" {
		t.Fatal("PARLEY_BIN is not set: run through `make test`")
	}
	p := testenv.FreePorts(t, 5)
	n := &node{data: t.TempDir(), c2s: p[0], tls: p[1], ws: p[2], http: p[3], admin: p[4], log: &bytes.Buffer{}}
	addr := func(p int) string { return "127.0.0.1:" + strconv.Itoa(p) }
	n.cmd = exec.Command(bin, "serve", "--data", n.data, "--domain", "localhost",
		"--c2s-addr", addr(n.c2s), "--c2s-tls-addr", addr(n.tls), "--ws-addr", addr(n.ws),
		"--http-addr", addr(n.http), "--admin-addr", addr(n.admin), "--log-level", "debug",
		// One address logs in all the clients in quick succession.
		"--login-rate", "0")
	n.cmd.Args = append(n.cmd.Args, extra...)
	n.cmd.Stdout, n.cmd.Stderr = n.log, n.log
	if err := n.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		n.cmd.Process.Kill()
		n.cmd.Wait()
		if t.Failed() {
			t.Logf("server log:\n%s", n.log.String())
		}
	})
	deadline := time.Now().Add(15 * time.Second)
	for {
		resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/healthz", n.admin))
		if err == nil {
			resp.Body.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("server did not come up: %v\n%s", err, n.log.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	tok, err := os.ReadFile(filepath.Join(n.data, "admin-token"))
	if err != nil {
		t.Fatal(err)
	}
	if st, _ := os.Stat(filepath.Join(n.data, "admin-token")); st.Mode().Perm() != 0o600 {
		t.Fatalf("admin-token mode %v, want 0600", st.Mode().Perm())
	}
	n.adminToken = strings.TrimSpace(string(tok))
	if len(extra) > 0 {
		return n // a cluster node: the caller reads the app from the first node
	}
	var apps struct {
		Items []struct {
			ID int64 `json:"id"`
		} `json:"items"`
	}
	n.admin_(t, "GET", "/api/apps", nil, &apps)
	if len(apps.Items) != 1 || apps.Items[0].ID != 1 {
		t.Fatalf("first start should create application 1, got %+v", apps.Items)
	}
	n.authKey = readAuthKey(t, n)
	return n
}

// readAuthKey reads application 1's auth key from the file the first start
// writes (the key is in no log and no listing).
func readAuthKey(t *testing.T, n *node) string {
	t.Helper()
	path := filepath.Join(n.data, "app-1-auth-key")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("first start should write the auth key of application 1: %v", err)
	}
	if st, _ := os.Stat(path); st.Mode().Perm() != 0o600 {
		t.Fatalf("%s mode %v, want 0600", path, st.Mode().Perm())
	}
	if strings.Contains(n.log.String(), strings.TrimSpace(string(b))) {
		t.Fatal("the auth key is in the server log")
	}
	return strings.TrimSpace(string(b))
}

func (n *node) admin_(t *testing.T, method, path string, body, out any) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, fmt.Sprintf("http://127.0.0.1:%d%s", n.admin, path), rd)
	req.Header.Set("Authorization", "Bearer "+n.adminToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode/100 != 2 {
		t.Fatalf("%s %s: %s %s", method, path, resp.Status, b)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatal(err)
		}
	}
}

func (n *node) addUser(t *testing.T, login, password string) int64 {
	var out struct {
		User struct {
			ID int64 `json:"id"`
		} `json:"user"`
	}
	n.admin_(t, "POST", "/api/apps/1/users", map[string]string{"login": login, "password": password}, &out)
	return out.User.ID
}

// stop sends SIGTERM and expects a clean exit within a few seconds.
func (n *node) stop(t *testing.T) {
	n.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- n.cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("parley exited with %v after SIGTERM", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("parley did not exit within 10 s of SIGTERM")
	}
}

func run(t *testing.T, dir string, env []string, name string, args ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	t.Logf("%s output:\n%s", name, out)
	if err != nil {
		t.Fatalf("%s failed: %v", name, err)
	}
}

func TestRealClients(t *testing.T) {
	n := startNode(t)
	alice := n.addUser(t, "sdk_alice", "alice-password")
	bob := n.addUser(t, "sdk_bob", "bob-password")
	n.addUser(t, "sdk_carol", "carol-password")
	env := []string{
		"PARLEY_APP_ID=1", "PARLEY_AUTH_KEY=" + n.authKey, "PARLEY_DOMAIN=localhost",
		fmt.Sprintf("PARLEY_HTTP=http://127.0.0.1:%d", n.http),
		fmt.Sprintf("PARLEY_WS=ws://127.0.0.1:%d/ws", n.ws),
		fmt.Sprintf("PARLEY_C2S_PORT=%d", n.c2s),
		fmt.Sprintf("PARLEY_ALICE_JID=%d-1@localhost", alice), "PARLEY_ALICE_PASSWORD=alice-password",
		fmt.Sprintf("PARLEY_BOB_JID=%d-1@localhost", bob), "PARLEY_BOB_PASSWORD=bob-password",
	}
	t.Run("connectycube SDK", func(t *testing.T) {
		run(t, "node", env, "node", "--test", "--test-force-exit", "sdk.test.cjs")
	})
	t.Run("connectycube SDK users", func(t *testing.T) {
		run(t, "node", env, "node", "--test", "--test-force-exit", "sdk_users.test.cjs")
	})
	t.Run("connectycube SDK meetings and whiteboards", func(t *testing.T) {
		run(t, "node", env, "node", "--test", "--test-force-exit", "sdk_meetings.test.cjs")
	})
	t.Run("connectycube SDK custom objects", func(t *testing.T) {
		out, err := exec.Command(os.Getenv("PARLEY_BIN"), "class", "create", "--app", "1", "--name", "Task", "--field", "title:string",
			"--field", "rating:integer", "--field", "tags:array", "--read", "open", fmt.Sprintf("--server=http://127.0.0.1:%d", n.admin), "--data", n.data).CombinedOutput()
		if err != nil {
			t.Fatalf("parley class create: %v\n%s", err, out)
		}
		run(t, "node", env, "node", "--test", "--test-force-exit", "sdk_objects.test.cjs")
	})
	t.Run("connectycube SDK storage", func(t *testing.T) {
		run(t, "node", env, "node", "--test", "--test-force-exit", "sdk_storage.test.cjs")
	})
	t.Run("slixmpp", func(t *testing.T) {
		py := "/usr/bin/python3"
		if _, err := os.Stat(py); err != nil {
			py = "python3"
		}
		run(t, ".", env, py, "slixmpp_test.py")
	})
	t.Run("slixmpp roster and presence subscription", func(t *testing.T) {
		py := "/usr/bin/python3"
		if _, err := os.Stat(py); err != nil {
			py = "python3"
		}
		run(t, ".", env, py, "slixmpp_roster.py")
	})
	t.Run("slixmpp room: create, configure, members, kick, ban", func(t *testing.T) {
		py := "/usr/bin/python3"
		if _, err := os.Stat(py); err != nil {
			py = "python3"
		}
		run(t, ".", env, py, "slixmpp_muc.py")
	})
	t.Run("slixmpp HTTP File Upload", func(t *testing.T) {
		py := "/usr/bin/python3"
		if _, err := os.Stat(py); err != nil {
			py = "python3"
		}
		run(t, ".", env, py, "slixmpp_upload.py")
	})
	t.Run("slixmpp bookmarks in private storage", func(t *testing.T) {
		py := "/usr/bin/python3"
		if _, err := os.Stat(py); err != nil {
			py = "python3"
		}
		run(t, ".", env, py, "slixmpp_private.py")
	})
	t.Run("slixmpp vCard with a photo", func(t *testing.T) {
		py := "/usr/bin/python3"
		if _, err := os.Stat(py); err != nil {
			py = "python3"
		}
		run(t, ".", env, py, "slixmpp_vcard.py")
	})
	t.Run("slixmpp PEP avatar and bookmarks", func(t *testing.T) {
		py := "/usr/bin/python3"
		if _, err := os.Stat(py); err != nil {
			py = "python3"
		}
		run(t, ".", env, py, "slixmpp_pep.py")
	})
	t.Run("slixmpp MAM finds what the SDK sent", func(t *testing.T) {
		cmd := exec.Command("node", "sdk_seed.cjs")
		cmd.Dir, cmd.Env = "node", append(os.Environ(), env...)
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("sdk_seed.cjs: %v\n%s", err, out)
		}
		var seeded struct{ One, Group, Room string }
		if err := json.Unmarshal(bytes.TrimSpace(out), &seeded); err != nil || seeded.One == "" || seeded.Group == "" || seeded.Room == "" {
			t.Fatalf("sdk_seed.cjs printed %q: %v", out, err)
		}
		py := "/usr/bin/python3"
		if _, err := os.Stat(py); err != nil {
			py = "python3"
		}
		run(t, ".", append(env, "MAM_ONE_ID="+seeded.One, "MAM_GROUP_ID="+seeded.Group, "MAM_ROOM="+seeded.Room), py, "slixmpp_mam.py")
	})
	t.Run("admin commands", func(t *testing.T) {
		bin := os.Getenv("PARLEY_BIN")
		server := fmt.Sprintf("--server=http://127.0.0.1:%d", n.admin)
		cli := func(args ...string) string {
			out, err := exec.Command(bin, append(args, server, "--data", n.data)...).CombinedOutput()
			if err != nil {
				t.Fatalf("parley %v: %v\n%s", args, err, out)
			}
			return string(out)
		}
		if out := cli("app", "create", "--name", "second", "--dialog-extensions", "color,size", "--json"); !strings.Contains(out, `"id": 2`) || !strings.Contains(out, `"color"`) {
			t.Fatalf("app create: %s", out)
		}
		if out := cli("app", "list"); !strings.Contains(out, "second") {
			t.Fatalf("app list: %s", out)
		}
		cli("user", "add", "--app", "2", "--login", "cli_user", "--password", "cli-password")
		if out := cli("dialog", "broadcast", "--app", "1", "--owner", fmt.Sprint(alice), "--name", "News", "--json"); !strings.Contains(out, `"type": 4`) {
			t.Fatalf("dialog broadcast: %s", out)
		}
		var users []map[string]any
		if err := json.Unmarshal([]byte(cli("user", "list", "--app", "2", "--json")), &users); err != nil || len(users) != 1 {
			t.Fatalf("user list: %v %v", err, users)
		}
		id := fmt.Sprint(users[0]["id"])
		cli("user", "passwd", "--app", "2", "--id", id, "--password", "new-cli-password")
		cli("user", "delete", "--app", "2", "--id", id)
		if out := cli("version", "--remote"); !strings.Contains(out, "sessions") {
			t.Fatalf("version: %s", out)
		}
	})
	n.stop(t)
}
