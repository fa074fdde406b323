package xmpp_test

import (
	"bufio"
	"context"
	"crypto/tls"
	"fmt"

	"os"
	"os/exec"
	"runtime"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/parley-chat/parley/accounts"
)

// The idle-session benchmark runs its clients in a child process (this test
// binary re-executed with PARLEY_LOADER set) so the server's heap and stacks
// are measured alone.
func TestMain(m *testing.M) {
	if os.Getenv("PARLEY_LOADER") != "" {
		os.Exit(loader())
	}
	os.Exit(m.Run())
}

// loader opens PARLEY_LOADER_N sessions as user/secret over the transport
// named, prints "ready" and holds them until stdin closes.
func loader() int {
	n, _ := strconv.Atoi(os.Getenv("PARLEY_LOADER_N"))
	addr, user, secret, kind := os.Getenv("PARLEY_LOADER_ADDR"), os.Getenv("PARLEY_LOADER_USER"), os.Getenv("PARLEY_LOADER_SECRET"), os.Getenv("PARLEY_LOADER")
	conns := make([]any, 0, n)
	for i := 0; i < n; i++ {
		c, err := loadSession(kind, addr, user, secret)
		if err != nil {
			fmt.Println("error", i, err)
			return 1
		}
		conns = append(conns, c)
	}
	fmt.Println("ready")
	bufio.NewReader(os.Stdin).ReadString('\n')
	runtime.KeepAlive(conns)
	return 0
}

// loadSession logs one session in with PLAIN and binds, the bare minimum.
func loadSession(kind, addr, user, secret string) (any, error) {
	auth := `<auth xmlns="urn:ietf:params:xml:ns:xmpp-sasl" mechanism="PLAIN">` + b64("\x00"+user+"\x00"+secret) + `</auth>`
	bind := `<iq type="set" id="b" xmlns="jabber:client"><bind xmlns="urn:ietf:params:xml:ns:xmpp-bind"/></iq>`
	if kind == "ws" {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		wc, _, err := websocket.Dial(ctx, "ws://"+addr+"/ws", &websocket.DialOptions{Subprotocols: []string{"xmpp"}})
		if err != nil {
			return nil, err
		}
		open := `<open xmlns="urn:ietf:params:xml:ns:xmpp-framing" to="localhost" version="1.0"/>`
		steps := []struct{ send, until string }{{open, "mechanisms"}, {auth, "success"}, {open, "bind"}, {bind, "<jid>"}}
		for _, s := range steps {
			wc.Write(ctx, websocket.MessageText, []byte(s.send))
			for {
				_, b, err := wc.Read(ctx)
				if err != nil {
					return nil, err
				}
				if strings.Contains(string(b), s.until) {
					break
				}
			}
		}
		return wc, nil
	}
	nc, err := tls.Dial("tcp", addr, &tls.Config{InsecureSkipVerify: true})
	if err != nil {
		return nil, err
	}
	nc.SetDeadline(time.Now().Add(10 * time.Second))
	open := `<stream:stream xmlns="jabber:client" xmlns:stream="http://etherx.jabber.org/streams" to="localhost" version="1.0">`
	r := bufio.NewReader(nc)
	var acc strings.Builder
	for _, s := range []struct{ send, until string }{{open, "</stream:features>"}, {auth, "success"}, {open, "</stream:features>"}, {bind, "</iq>"}} {
		nc.Write([]byte(s.send))
		acc.Reset()
		for !strings.Contains(acc.String(), s.until) {
			b, err := r.ReadByte()
			if err != nil {
				return nil, err
			}
			acc.WriteByte(b)
		}
	}
	nc.SetDeadline(time.Time{})
	return nc, nil
}

func heapAndStack() uint64 {
	for i := 0; i < 3; i++ {
		runtime.GC()
	}
	debug.FreeOSMemory()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapInuse + ms.StackInuse
}

// BenchmarkIdleSessionMemory reports heap+stack per idle authenticated
// session. PARLEY_BENCH_SESSIONS sets the count (default 10,000).
func BenchmarkIdleSessionMemory(b *testing.B) {
	n := 10000
	if v, err := strconv.Atoi(os.Getenv("PARLEY_BENCH_SESSIONS")); err == nil {
		n = v
	}
	for _, kind := range []string{"tls", "ws"} {
		b.Run(kind, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				e := newEnv(b, nil)
				user, _ := e.user("idle", "idle-password")
				_, token, _, err := e.acc.CreateSession(context.Background(), e.app.ID, e.app.AuthKey, &accounts.Login{Login: "idle", Password: "idle-password"})
				if err != nil {
					b.Fatal(err)
				}
				addr := e.c2sTLS
				if kind == "ws" {
					addr = e.ws
				}
				base := heapAndStack()
				cmd := exec.Command(os.Args[0], "-test.run=^$")
				cmd.Env = append(os.Environ(), "PARLEY_LOADER="+kind, "PARLEY_LOADER_N="+strconv.Itoa(n),
					"PARLEY_LOADER_ADDR="+addr, "PARLEY_LOADER_USER="+user, "PARLEY_LOADER_SECRET="+token)
				stdin, _ := cmd.StdinPipe()
				out, _ := cmd.StdoutPipe()
				cmd.Stderr = os.Stderr
				if err := cmd.Start(); err != nil {
					b.Fatal(err)
				}
				line, _ := bufio.NewReader(out).ReadString('\n')
				if strings.TrimSpace(line) != "ready" {
					b.Fatalf("loader: %s", line)
				}
				for e.srv.SessionCount() < n {
					time.Sleep(10 * time.Millisecond)
				}
				used := heapAndStack()
				per := float64(used-base) / float64(n) / 1024
				b.ReportMetric(per, "KiB/session")
				b.ReportMetric(float64(runtime.NumGoroutine())/float64(n), "goroutines/session")
				stdin.Close()
				cmd.Wait()
			}
		})
	}
}

// BenchmarkRouting1to1 measures 1-1 routing over TLS on loopback: one sender,
// one receiver, the send time carried in the body. Reports msgs/s and
// p50/p99 delivery latency.
func BenchmarkRouting1to1(b *testing.B) {
	e := newEnv(b, nil)
	alice, _ := e.user("alice", "alice-password")
	bob, _ := e.user("bob", "bob-password")
	a := e.login(viaTLS, alice, "alice-password")
	r := e.login(viaTLS, bob, "bob-password")
	lat := make([]time.Duration, 0, b.N)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for len(lat) < b.N {
			k, s := r.readUnit(10 * time.Second)
			if k == 0 {
				return
			}
			i := strings.Index(s, "<body>")
			j := strings.Index(s, "</body>")
			ns, _ := strconv.ParseInt(s[i+6:j], 10, 64)
			lat = append(lat, time.Since(time.Unix(0, ns)))
		}
	}()
	to := bob + "@localhost"
	b.ResetTimer()
	start := time.Now()
	w := bufio.NewWriterSize(a.nc, 32<<10)
	for i := 0; i < b.N; i++ {
		fmt.Fprintf(w, `<message to="%s" type="chat" id="m%d"><body>%d</body></message>`, to, i, time.Now().UnixNano())
		if i%64 == 63 || i == b.N-1 {
			w.Flush()
		}
		// Keep the pipe bounded: at most ~2,000 messages in flight.
		for i-len(lat) > 2000 {
			time.Sleep(50 * time.Microsecond)
		}
	}
	<-done
	elapsed := time.Since(start)
	b.StopTimer()
	if len(lat) < b.N {
		b.Fatalf("received %d of %d", len(lat), b.N)
	}
	slices.Sort(lat)
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "msgs/s")
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
}
