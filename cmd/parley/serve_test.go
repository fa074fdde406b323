package main

import (
	"bytes"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/spf13/pflag"
)

// syncBuf is a log buffer the server process writes while the test reads.
type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) { s.mu.Lock(); defer s.mu.Unlock(); return s.b.Write(p) }
func (s *syncBuf) String() string              { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

func freePort(t *testing.T) int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// waitFor polls cond every 50 ms for up to 15 s.
func waitFor(t *testing.T, what string, log *syncBuf, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("timed out waiting for %s; server log:\n%s", what, log.String())
}

// TestServeProcess runs a real `parley serve`: a data dir that pre-exists
// with loose modes is made private, app 1's auth key goes to a file and not
// the log, an admin token from a file is accepted, and SIGHUP reloads the
// log level, the limits and the certificate instead of ending the process.
func TestServeProcess(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	tmp := t.TempDir()
	bin := filepath.Join(tmp, "parley")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	data := filepath.Join(tmp, "data")
	if err := os.Mkdir(data, 0o755); err != nil {
		t.Fatal(err)
	}
	os.Chmod(data, 0o755) // whatever the umask
	stale := filepath.Join(data, "notes.txt")
	os.WriteFile(stale, []byte("left by an older version"), 0o644)
	os.Chmod(stale, 0o644)
	token := "a-shared-admin-token-0123456789"
	tokenFile := filepath.Join(tmp, "admin-token")
	os.WriteFile(tokenFile, []byte(token+"\n"), 0o600)
	config := filepath.Join(tmp, "parley.yaml")
	writeConfig := func(level string, dialogsPerMinute int) {
		os.WriteFile(config, []byte(fmt.Sprintf("log-level: %s\ndialogs-per-minute: %d\n", level, dialogsPerMinute)), 0o600)
	}
	writeConfig("info", 20)
	httpPort, adminPort, tlsPort := freePort(t), freePort(t), freePort(t)
	log := &syncBuf{}
	cmd := exec.Command(bin, "serve", "--config", config, "--data", data, "--domain", "localhost",
		"--c2s-addr", "", "--ws-addr", "", "--c2s-tls-addr", "127.0.0.1:"+strconv.Itoa(tlsPort),
		"--http-addr", "127.0.0.1:"+strconv.Itoa(httpPort), "--admin-addr", "127.0.0.1:"+strconv.Itoa(adminPort),
		"--admin-token-file", tokenFile)
	for _, kv := range os.Environ() { // the flags and the config file decide
		if !strings.HasPrefix(kv, "PARLEY_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-exited
		if t.Failed() {
			t.Logf("server log:\n%s", log.String())
		}
	})
	waitFor(t, "parley is up", log, func() bool { return strings.Contains(log.String(), "parley is up") })

	call := func(port int, method, path, auth, body string) (int, map[string]any) {
		t.Helper()
		req, _ := http.NewRequest(method, fmt.Sprintf("http://127.0.0.1:%d%s", port, path), strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		if strings.HasPrefix(auth, "CB ") {
			req.Header.Del("Authorization")
			req.Header.Set("CB-Token", strings.TrimPrefix(auth, "CB "))
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		var out map[string]any
		json.Unmarshal(b, &out)
		return resp.StatusCode, out
	}

	t.Run("data dir is private", func(t *testing.T) {
		st, _ := os.Stat(data)
		if st.Mode().Perm() != 0o700 {
			t.Fatalf("data dir mode %v", st.Mode().Perm())
		}
		entries, _ := os.ReadDir(data)
		var names []string
		for _, e := range entries {
			info, _ := e.Info()
			names = append(names, e.Name())
			if info.Mode().IsRegular() && info.Mode().Perm() != 0o600 {
				t.Errorf("%s mode %v, want 0600", e.Name(), info.Mode().Perm())
			}
		}
		for _, want := range []string{"parley.db", "parley.db-wal", "parley.db-shm", "app-1-auth-key", "tls.crt", "tls.key", "notes.txt"} {
			if !strings.Contains(" "+strings.Join(names, " ")+" ", " "+want+" ") {
				t.Errorf("%s missing from the data dir: %v", want, names)
			}
		}
	})
	keyBytes, err := os.ReadFile(filepath.Join(data, "app-1-auth-key"))
	if err != nil {
		t.Fatal(err)
	}
	authKey := strings.TrimSpace(string(keyBytes))
	t.Run("auth key in a file, not in the log", func(t *testing.T) {
		if len(authKey) != 32 || strings.Contains(log.String(), authKey) || !strings.Contains(log.String(), "app-1-auth-key") {
			t.Fatalf("key %q; log:\n%s", authKey, log.String())
		}
		if code, out := call(httpPort, "POST", "/session.json", "", `{"application_id":1,"auth_key":"`+authKey+`"}`); code != 201 {
			t.Fatalf("session with the key from the file: %d %v", code, out)
		}
	})
	t.Run("admin token from a file", func(t *testing.T) {
		if code, _ := call(adminPort, "GET", "/api/apps", "Bearer "+token, ""); code != 200 {
			t.Fatalf("the token from --admin-token-file: %d", code)
		}
		if code, _ := call(adminPort, "GET", "/api/apps", "Bearer wrong-token-0123456789", ""); code != 401 {
			t.Fatalf("a wrong token: %d", code)
		}
		if _, err := os.Stat(filepath.Join(data, "admin-token")); err == nil {
			t.Fatal("a token was generated although one was given")
		}
	})

	serial := func() string {
		t.Helper()
		c, err := tls.Dial("tcp", "127.0.0.1:"+strconv.Itoa(tlsPort), &tls.Config{InsecureSkipVerify: true})
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		return c.ConnectionState().PeerCertificates[0].SerialNumber.String()
	}
	t.Run("SIGHUP reloads", func(t *testing.T) {
		// A user who may create one dialog a minute after the reload.
		code, _ := call(adminPort, "POST", "/api/apps/1/users", "Bearer "+token, `{"login":"hup","password":"hup-password"}`)
		if code != 201 {
			t.Fatalf("add user: %d", code)
		}
		code, out := call(httpPort, "POST", "/session.json", "", `{"application_id":1,"auth_key":"`+authKey+`","user":{"login":"hup","password":"hup-password"}}`)
		if code != 201 {
			t.Fatalf("login: %d %v", code, out)
		}
		userTok := "CB " + out["session"].(map[string]any)["token"].(string)
		before := serial()
		// A new certificate in place of the self-signed one, a new log
		// level and a new limit in the config file.
		if err := selfSigned(filepath.Join(data, "tls.crt"), filepath.Join(data, "tls.key"), "localhost"); err != nil {
			t.Fatal(err)
		}
		writeConfig("debug", 1)
		if err := cmd.Process.Signal(syscall.SIGHUP); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "the reload log line", log, func() bool { return strings.Contains(log.String(), "SIGHUP: reloaded") })
		select {
		case err := <-exited:
			t.Fatalf("the server exited on SIGHUP: %v", err)
		case <-time.After(100 * time.Millisecond):
		}
		line := log.String()[strings.Index(log.String(), "SIGHUP: reloaded"):]
		line, _, _ = strings.Cut(line, "\n")
		t.Log(line)
		for _, want := range []string{"log-level=DEBUG", "certificate", "dialogs-per-minute=1"} {
			if !strings.Contains(line, want) {
				t.Errorf("the reload line does not say %q: %s", want, line)
			}
		}
		if after := serial(); after == before {
			t.Error("the certificate was not reloaded")
		}
		if code, out := call(httpPort, "POST", "/chat/Dialog.json", userTok, `{"type":2,"name":"one"}`); code != 201 {
			t.Fatalf("first dialog: %d %v", code, out)
		}
		if code, out := call(httpPort, "POST", "/chat/Dialog.json", userTok, `{"type":2,"name":"two"}`); code != 429 {
			t.Fatalf("second dialog after lowering dialogs-per-minute to 1: %d %v", code, out)
		}
		// Debug lines appear now.
		waitFor(t, "a debug line", log, func() bool { return strings.Contains(log.String(), "level=DEBUG") })
	})
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-exited:
		if err != nil {
			t.Fatalf("exit after SIGTERM: %v", err)
		}
		exited <- nil
	case <-time.After(15 * time.Second):
		t.Fatal("no exit after SIGTERM")
	}
}

// TestReloadRereadsSettings: a reload reads the command line, the
// environment and the config file again, applies the limits, and tells
// settings that need a restart from those it applied.
func TestReloadRereadsSettings(t *testing.T) {
	config := filepath.Join(t.TempDir(), "parley.yaml")
	os.WriteFile(config, []byte("resume-timeout: 5m\ndialogs-per-hour: 50\n"), 0o600)
	cmd := serveCmd()
	if err := cmd.Flags().Parse([]string{"--config", config, "--dialogs-per-minute", "7", "--domain", "example.com"}); err != nil {
		t.Fatal(err)
	}
	if err := applyConfig(cmd.Flags(), config); err != nil {
		t.Fatal(err)
	}
	log := &syncBuf{}
	var applied []limitOptions
	r := &reloader{start: cmd.Flags(), current: cmd.Flags(), level: new(slog.LevelVar), log: slog.New(slog.NewTextHandler(log, nil)),
		apply: func(l limitOptions) { applied = append(applied, l) }}
	// The limits at start, as serve reads them.
	var l limitOptions
	lfs := pflag.NewFlagSet("l", pflag.ContinueOnError)
	l.register(lfs)
	lfs.Parse([]string{"--dialogs-per-minute", "7", "--dialogs-per-hour", "50"})
	r.limits = l
	r.certs = &certs{dataDir: t.TempDir(), domain: "localhost"}

	// The file changes a limit and a setting that needs a restart; the
	// command line still wins for what it set.
	os.WriteFile(config, []byte("resume-timeout: 5m\ndialogs-per-hour: 60\ndialogs-per-minute: 99\nmax-stanza: 1000\n"), 0o600)
	r.reload()
	if len(applied) != 1 || applied[0].dialogs.CreatePerHour != 60 || applied[0].dialogs.CreatePerMinute != 7 {
		t.Fatalf("applied %+v", applied)
	}
	out := log.String()
	for _, want := range []string{"limits dialogs-per-hour=60", "max-stanza=1000", "SIGHUP: reloaded"} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %q:\n%s", want, out)
		}
	}
	for _, bad := range []string{"resume-timeout", "domain", "dialogs-per-minute"} {
		if strings.Contains(out, bad) {
			t.Errorf("log names %s, which did not change:\n%s", bad, out)
		}
	}
	// A bad value keeps the running limits.
	os.WriteFile(config, []byte("dialogs-per-hour: many\n"), 0o600)
	r.reload()
	if len(applied) != 1 || !strings.Contains(log.String(), "limits not reloaded") {
		t.Fatalf("a bad limit was applied: %+v\n%s", applied, log.String())
	}
}
