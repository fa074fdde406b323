// Package testenv starts the real servers tests talk to: a MongoDB-wire
// server (FerretDB built by scripts/ferretdb.sh, or MONGO_URI) and
// redis-server, each on a free loopback port, stopped when the test ends.
package testenv

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"
)

// Root is the module's directory.
func Root(t testing.TB) string {
	dir, _ := os.Getwd()
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("testenv: go.mod not found above the working directory")
		}
		dir = parent
	}
}

func freePort(t testing.TB) int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// FreePorts returns n distinct free loopback ports: each is held until all
// are chosen, since a port just closed may be handed out again.
func FreePorts(t testing.TB, n int) []int {
	out := make([]int, n)
	for i := range out {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		out[i] = ln.Addr().(*net.TCPAddr).Port
	}
	return out
}

func waitPort(t testing.TB, addr string, log func() string) {
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond); err == nil {
			c.Close()
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("testenv: nothing listens on %s:\n%s", addr, log())
}

type logBuf struct{ b []byte }

func (l *logBuf) Write(p []byte) (int, error) { l.b = append(l.b, p...); return len(p), nil }

// MongoURI returns MONGO_URI when set, else starts a FerretDB on SQLite for
// this test. Each call gets a database name of its own.
func MongoURI(t testing.TB) (uri, db string) {
	db = "parley_" + randomHex(6)
	if u := os.Getenv("MONGO_URI"); u != "" {
		return u, db
	}
	bin := filepath.Join(Root(t), ".cache", "ferretdb")
	if _, err := os.Stat(bin); err != nil {
		t.Fatalf("testenv: %s is missing: run scripts/ferretdb.sh (make test does), or set MONGO_URI", bin)
	}
	port := freePort(t)
	dir := t.TempDir()
	logs := &logBuf{}
	cmd := exec.Command(bin, "--handler=sqlite", "--sqlite-url=file:"+dir+"/", "--listen-addr=127.0.0.1:"+strconv.Itoa(port),
		"--telemetry=disable", "--log-level=warn", "--debug-addr=127.0.0.1:"+strconv.Itoa(freePort(t)), "--state-dir="+dir)
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		if t.Failed() {
			t.Logf("ferretdb log:\n%s", logs.b)
		}
	})
	addr := "127.0.0.1:" + strconv.Itoa(port)
	waitPort(t, addr, func() string { return string(logs.b) })
	return "mongodb://" + addr + "/", db
}

// Redis starts redis-server on a free loopback port without persistence
// and returns its address.
func Redis(t testing.TB) string {
	addr, _ := RedisStoppable(t)
	return addr
}

// RedisStoppable is Redis with a function that stops the server early
// (tests of Redis outages).
func RedisStoppable(t testing.TB) (string, func()) {
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		t.Fatal("testenv: redis-server is not installed (make test installs it)")
	}
	port := freePort(t)
	logs := &logBuf{}
	cmd := exec.Command(bin, "--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", t.TempDir())
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var once sync.Once
	stop := func() { once.Do(func() { cmd.Process.Kill(); cmd.Wait() }) }
	t.Cleanup(stop)
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	waitPort(t, addr, func() string { return string(logs.b) })
	return addr, stop
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// S3Server is an S3-compatible endpoint for tests.
type S3Server struct {
	Endpoint             string // host:port, plain HTTP
	AccessKey, SecretKey string
	Region               string
}

// S3 returns S3_ENDPOINT (with S3_ACCESS_KEY and S3_SECRET_KEY) when set,
// else starts SeaweedFS (built into .cache/weed by scripts/seaweedfs.sh) on
// free loopback ports for this test: a real S3 server, with its own data
// directory, stopped when the test ends.
func S3(t testing.TB) S3Server {
	if ep := os.Getenv("S3_ENDPOINT"); ep != "" {
		return S3Server{Endpoint: ep, AccessKey: os.Getenv("S3_ACCESS_KEY"), SecretKey: os.Getenv("S3_SECRET_KEY"), Region: "us-east-1"}
	}
	bin := filepath.Join(Root(t), ".cache", "weed")
	if _, err := os.Stat(bin); err != nil {
		t.Fatalf("testenv: %s is missing: run scripts/seaweedfs.sh (make test does), or set S3_ENDPOINT", bin)
	}
	// Eight distinct ports: SeaweedFS fails when two of its servers share one.
	var p []string
	for _, n := range FreePorts(t, 8) {
		p = append(p, strconv.Itoa(n))
	}
	s3 := p[0]
	logs := &logBuf{}
	// With identities configured, SeaweedFS checks every request's signature,
	// as a real S3 does.
	conf := filepath.Join(t.TempDir(), "s3.json")
	if err := os.WriteFile(conf, []byte(`{"identities":[{"name":"parley","credentials":[{"accessKey":"parley","secretKey":"parley-secret"}],"actions":["Admin","Read","Write","List","Tagging"]}]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "server", "-dir="+t.TempDir(), "-ip=127.0.0.1", "-ip.bind=127.0.0.1", "-s3.config="+conf,
		"-master.port="+p[1], "-master.port.grpc="+p[2], "-volume.port="+p[3], "-volume.port.grpc="+p[4],
		"-filer.port="+p[5], "-filer.port.grpc="+p[6], "-s3", "-s3.port="+s3, "-s3.port.grpc="+p[7],
		"-master.volumeSizeLimitMB=64", "-volume.max=50")
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		if t.Failed() {
			t.Logf("seaweedfs log (tail):\n%s", tail(logs.b, 4000))
		}
	})
	addr := "127.0.0.1:" + s3
	waitPort(t, addr, func() string { return string(logs.b) })
	return S3Server{Endpoint: addr, AccessKey: "parley", SecretKey: "parley-secret", Region: "us-east-1"}
}

func tail(b []byte, n int) []byte {
	if len(b) > n {
		return b[len(b)-n:]
	}
	return b
}
