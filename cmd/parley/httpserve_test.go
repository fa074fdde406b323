package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
)

func TestPlainHTTPBeyondLoopbackIsRefused(t *testing.T) {
	cases := []struct {
		addr        string
		behindProxy bool
		ok          bool
	}{
		{"127.0.0.1:8080", false, true},
		{"127.0.0.2:8080", false, true},
		{"[::1]:8080", false, true},
		{"localhost:8080", false, true},
		{"", false, true},       // disabled
		{":0", false, true},     // disabled
		{":8080", false, false}, // every interface
		{"0.0.0.0:8080", false, false},
		{"[::]:8080", false, false},
		{"192.0.2.10:8080", false, false},
		{"[::ffff:10.0.0.1]:8080", false, false},
		{"example.com:8080", false, false},
		{":8080", true, true},
		{"192.0.2.10:8080", true, true},
	}
	for _, tc := range cases {
		err := checkPlainHTTP(tc.addr, tc.behindProxy)
		if (err == nil) != tc.ok {
			t.Errorf("checkPlainHTTP(%q, proxy=%v) = %v, want ok=%v", tc.addr, tc.behindProxy, err, tc.ok)
		}
		// The same rule for plain WebSocket; wss passes anywhere.
		if err := checkPlainWS(tc.addr, false, tc.behindProxy); (err == nil) != tc.ok {
			t.Errorf("checkPlainWS(%q, proxy=%v) = %v, want ok=%v", tc.addr, tc.behindProxy, err, tc.ok)
		}
		if err := checkPlainWS(tc.addr, true, false); err != nil {
			t.Errorf("checkPlainWS(%q, wss) = %v", tc.addr, err)
		}
	}
	if f := serveCmd().Flags().Lookup("ws-addr"); f.DefValue != "127.0.0.1:5291" {
		t.Errorf("--ws-addr defaults to %q, want loopback", f.DefValue)
	}
	// parley serve itself refuses before it opens anything.
	data := t.TempDir()
	cmd := serveCmd()
	cmd.SetArgs([]string{"--data", data, "--http-addr", ":18080", "--c2s-addr", "", "--c2s-tls-addr", "", "--ws-addr", "", "--admin-addr", ""})
	cmd.SetOut(io.Discard)
	cmd.SetErr(io.Discard)
	err := cmd.ExecuteContext(context.Background())
	if err == nil || !strings.Contains(err.Error(), "--http-behind-tls-proxy") {
		t.Fatalf("serve with a plain-HTTP address on every interface: %v", err)
	}
	if entries, _ := os.ReadDir(data); len(entries) != 0 {
		t.Fatalf("serve wrote %d files before refusing", len(entries))
	}
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// TestServeRESTOverHTTPS runs parley serve with --https-addr and checks the
// REST API answers over TLS with the node's certificate, and over plain
// HTTP on loopback.
func TestServeRESTOverHTTPS(t *testing.T) {
	data := t.TempDir()
	httpAddr, httpsAddr := freeAddr(t), freeAddr(t)
	ctx, cancel := context.WithCancel(context.Background())
	cmd := serveCmd()
	cmd.SetArgs([]string{"--data", data, "--domain", "localhost", "--http-addr", httpAddr, "--https-addr", httpsAddr,
		"--c2s-addr", "", "--c2s-tls-addr", "", "--ws-addr", "", "--admin-addr", "", "--log-level", "error"})
	done := make(chan error, 1)
	go func() { done <- cmd.ExecuteContext(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("serve: %v", err)
			}
		case <-time.After(20 * time.Second):
			t.Error("serve did not stop")
		}
	})

	var pemCert []byte
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		pemCert, _ = os.ReadFile(filepath.Join(data, "tls.crt"))
		c, err := net.DialTimeout("tcp", httpsAddr, time.Second)
		if err == nil {
			c.Close()
			if len(pemCert) > 0 {
				break
			}
		}
		select {
		case err := <-done:
			t.Fatalf("serve ended: %v", err)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("https listener on %s never came up", httpsAddr)
		}
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(pemCert) {
		t.Fatal("tls.crt holds no certificate")
	}
	get := func(c *http.Client, url string) (int, string) {
		t.Helper()
		resp, err := c.Get(url)
		if err != nil {
			t.Fatalf("GET %s: %v", url, err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	tlsClient := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots, ServerName: "localhost"}}}
	_, port, _ := net.SplitHostPort(httpsAddr)
	if code, body := get(tlsClient, "https://localhost:"+port+"/session.json"); code != 401 || !strings.Contains(body, "errors") {
		t.Fatalf("GET /session.json over HTTPS: %d %s", code, body)
	}
	// A client that does not trust the node's certificate is turned away.
	if _, err := (&http.Client{Timeout: 10 * time.Second}).Get("https://" + httpsAddr + "/session.json"); err == nil {
		t.Fatal("HTTPS answered a client without the node's certificate in its roots")
	}
	if code, _ := get(&http.Client{Timeout: 10 * time.Second}, "http://"+httpAddr+"/session.json"); code != 401 {
		t.Fatalf("GET /session.json over loopback HTTP: %d", code)
	}
}

// TestHTTPServerCutsSlowClients: a client trickling its headers, or its
// body, is cut once the read timeouts pass.
func TestHTTPServerCutsSlowClients(t *testing.T) {
	limits := httpLimits{readHeaderTimeout: 300 * time.Millisecond, readTimeout: 600 * time.Millisecond,
		writeTimeout: time.Second, idleTimeout: time.Second, maxBody: 1 << 20}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, err := io.ReadAll(r.Body); err != nil {
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
	srv := limits.server(h, slog.New(slog.DiscardHandler))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })

	// trickle writes head at once, then the rest a byte every 100 ms, for at
	// most 10 s; it reports how long the server kept the connection.
	trickle := func(head, rest string) time.Duration {
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		start := time.Now()
		closed := make(chan struct{})
		go func() {
			c.SetReadDeadline(time.Now().Add(10 * time.Second))
			io.Copy(io.Discard, c)
			close(closed)
		}()
		if _, err := io.WriteString(c, head); err != nil {
			t.Fatal(err)
		}
		for i := 0; i < 100; i++ {
			select {
			case <-closed:
				return time.Since(start)
			case <-time.After(100 * time.Millisecond):
			}
			if _, err := c.Write([]byte{rest[i%len(rest)]}); err != nil {
				break
			}
		}
		<-closed
		return time.Since(start)
	}
	if d := trickle("GET / HTTP/1.1\r\n", "X-Slow: aaaaaaaaaaaaaaaa\r\n"); d > 5*time.Second {
		t.Fatalf("a client trickling its headers was kept %v", d)
	}
	body := strings.Repeat("x", 1000)
	if d := trickle("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: "+strconv.Itoa(len(body))+"\r\n\r\n", body); d > 5*time.Second {
		t.Fatalf("a client trickling its body was kept %v", d)
	}
}

// TestShippedConfigsServeNoPlainHTTPBeyondLoopback: the sample configs and
// the Kubernetes ConfigMap are valid settings and pass the plain-HTTP rule.
func TestShippedConfigsServeNoPlainHTTPBeyondLoopback(t *testing.T) {
	files, _ := filepath.Glob("../../configs/*.yaml")
	if len(files) == 0 {
		t.Fatal("no configs/*.yaml")
	}
	b, err := os.ReadFile("../../deploy/k8s/parley.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var cm struct {
		Data map[string]string `yaml:"data"`
	}
	if err := yaml.NewDecoder(bytes.NewReader(b)).Decode(&cm); err != nil || cm.Data["parley.yaml"] == "" {
		t.Fatalf("ConfigMap: %v", err)
	}
	k8s := filepath.Join(t.TempDir(), "k8s.yaml")
	os.WriteFile(k8s, []byte(cm.Data["parley.yaml"]), 0o600)
	for _, f := range append(files, k8s) {
		cmd := serveCmd()
		if err := applyConfig(cmd.Flags(), f); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		get := func(n string) string { return cmd.Flags().Lookup(n).Value.String() }
		if err := checkPlainHTTP(get("http-addr"), get("http-behind-tls-proxy") == "true"); err != nil {
			t.Errorf("%s: %v", f, err)
		}
		if err := checkPlainWS(get("ws-addr"), get("ws-tls") == "true", get("ws-behind-tls-proxy") == "true"); err != nil {
			t.Errorf("%s: %v", f, err)
		}
		if disabled(get("https-addr")) {
			t.Errorf("%s: no https-addr: REST would be reachable on loopback only", f)
		}
	}
}
