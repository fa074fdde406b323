//go:build clients

package clients

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// syncBuf collects a process's output for reading while it runs.
type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) { s.mu.Lock(); defer s.mu.Unlock(); return s.b.Write(p) }
func (s *syncBuf) String() string              { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

// TestPasswordResetByEmail: the unmodified SDK asks for a reset; the mail
// reaches a real SMTP server (Python's smtpd) on loopback; the link's form
// sets a new password, which ends the old session token; the new password
// signs in.
func TestPasswordResetByEmail(t *testing.T) {
	smtpPort := freePort(t)
	mail := &syncBuf{}
	smtpd := exec.Command("/usr/bin/python3", "-W", "ignore", "-u", "-m", "smtpd", "-n", "-c", "DebuggingServer", fmt.Sprintf("127.0.0.1:%d", smtpPort))
	smtpd.Stdout, smtpd.Stderr = mail, mail
	if err := smtpd.Start(); err != nil {
		t.Fatalf("python3 smtpd: %v", err)
	}
	t.Cleanup(func() { smtpd.Process.Kill(); smtpd.Wait() })
	n := startNode(t, "--smtp-addr", fmt.Sprintf("127.0.0.1:%d", smtpPort), "--smtp-from", "parley@localhost")
	n.adminToken = readToken(t, n)
	n.authKey = readAuthKey(t, n)
	n.admin_(t, "POST", "/api/apps/1/users", map[string]string{"login": "reset_eve", "password": "eve-old-password", "email": "eve@example.com"}, nil)
	api := fmt.Sprintf("http://127.0.0.1:%d", n.http)

	cmd := exec.Command("node", "sdk_reset.cjs")
	cmd.Dir = "node"
	cmd.Env = append(os.Environ(), "PARLEY_APP_ID=1", "PARLEY_AUTH_KEY="+n.authKey, "PARLEY_HTTP="+api)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("sdk_reset.cjs: %v\n%s", err, out)
	}
	var old struct{ Token string }
	json.Unmarshal(bytes.TrimSpace(out), &old)

	link := regexp.MustCompile(`http://\S+/users/password/reset\.html\?token=[A-Za-z0-9_-]+`)
	deadline := time.Now().Add(15 * time.Second)
	for !link.MatchString(mail.String()) {
		if time.Now().After(deadline) {
			t.Fatalf("no reset link reached the SMTP server:\n%s", mail.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	if !strings.Contains(mail.String(), "To: eve@example.com") {
		t.Fatalf("the mail's recipient:\n%s", mail.String())
	}
	u, _ := url.Parse(link.FindString(mail.String()))
	resp, err := http.Get(u.String())
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(page), `name="password"`) {
		t.Fatalf("the link's page: %d %s", resp.StatusCode, page)
	}
	form := url.Values{"token": {u.Query().Get("token")}, "password": {"eve-new-password"}}
	post := func() (int, string) {
		resp, err := http.PostForm(api+"/users/password/reset.html", form)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		return resp.StatusCode, string(b)
	}
	if code, body := post(); code != 200 || !strings.Contains(body, "password is changed") {
		t.Fatalf("setting the new password: %d %s", code, body)
	}
	if code, body := post(); code != 422 {
		t.Fatalf("the link worked twice: %d %s", code, body)
	}
	req, _ := http.NewRequest("GET", api+"/session.json", nil)
	req.Header.Set("CB-Token", old.Token)
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != 401 {
		t.Fatalf("the old session token after the reset: %v %v", resp.StatusCode, err)
	}
	login := func(pw string) int {
		resp, err := http.Post(api+"/session.json", "application/json", strings.NewReader(
			`{"application_id":1,"auth_key":"`+n.authKey+`","user":{"login":"reset_eve","password":"`+pw+`"}}`))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if login("eve-new-password") != 201 || login("eve-old-password") != 401 {
		t.Fatal("after the reset, the new password should sign in and the old one not")
	}
}
