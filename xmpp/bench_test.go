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
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/parley-chat/parley/accounts"
	"github.com/parley-chat/parley/dialogs"
	"github.com/parley-chat/parley/xmpp"
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
	if os.Getenv("PARLEY_LOADER_SM") != "" {
		// Resumable stream management and available presence, then never read.
		bind += `<enable xmlns="urn:xmpp:sm:3" resume="true"/><presence/>`
	}
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
				e := newEnv(b, func(c *xmpp.Config) { c.MaxSessionsPerUser = n + 1 })
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
	a.nc.SetWriteDeadline(time.Time{}) // the client's send() leaves a 5 s deadline
	b.ResetTimer()
	start := time.Now()
	w := bufio.NewWriterSize(a.nc, 32<<10)
	for i := 0; i < b.N; i++ {
		fmt.Fprintf(w, `<message to="%s" type="chat" id="m%d"><body>%d</body></message>`, to, i, time.Now().UnixNano())
		if i%64 == 63 || i == b.N-1 {
			if err := w.Flush(); err != nil {
				b.Fatal(err)
			}
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

// BenchmarkGroupStored measures stored group messages to a 100-member
// dialog: one sender, 99 other members online over TLS on loopback, every
// message saved to history and fanned out. Reports stored msgs/s, fan-out
// deliveries/s and p50/p99 delivery latency (send to read by a member).
func BenchmarkGroupStored(b *testing.B) {
	const members = 100
	e := newChatEnv(b)
	e.acc.Iterations = 1000
	var jids []string
	var uids []int64
	for i := 0; i < members; i++ {
		jid, u := e.user(fmt.Sprintf("member%03d", i), "member-password")
		jids = append(jids, jid)
		uids = append(uids, u.ID)
	}
	v, err := e.ds.Create(context.Background(), e.app.ID, uids[0], dialogs.Input{Type: ptrTo(dialogs.Group), Name: ptrTo("hundred"), Occupants: uids[1:]})
	if err != nil {
		b.Fatal(err)
	}
	room := dialogs.RoomJID(e.app.ID, v.ID, "muc.localhost")
	sender := e.login(viaTLS, jids[0], "member-password")
	var mu sync.Mutex
	var lat []time.Duration
	received := make([]atomic.Int64, members)
	var wg sync.WaitGroup
	for i := 1; i < members; i++ {
		c := e.login(viaTLS, jids[i], "member-password")
		wg.Add(1)
		go func(i int, c *client) {
			defer wg.Done()
			for received[i].Load() < int64(b.N) {
				k, s := c.readUnit(10 * time.Second)
				if k == 0 {
					return
				}
				at := strings.Index(s, "<body>")
				if at < 0 {
					continue
				}
				ns, _ := strconv.ParseInt(s[at+6:strings.Index(s, "</body>")], 10, 64)
				d := time.Since(time.Unix(0, ns))
				mu.Lock()
				lat = append(lat, d)
				mu.Unlock()
				received[i].Add(1)
			}
		}(i, c)
	}
	slowest := func() int64 {
		m := int64(b.N)
		for i := 1; i < members; i++ {
			m = min(m, received[i].Load())
		}
		return m
	}
	// PARLEY_BENCH_RATE paces the sender (messages per second); 0 sends
	// as fast as the 200-message window allows.
	rate, _ := strconv.Atoi(os.Getenv("PARLEY_BENCH_RATE"))
	sender.nc.SetWriteDeadline(time.Time{}) // the client's send() leaves a 5 s deadline
	b.ResetTimer()
	start := time.Now()
	w := bufio.NewWriterSize(sender.nc, 32<<10)
	for i := 0; i < b.N; i++ {
		if rate > 0 {
			if d := time.Until(start.Add(time.Duration(i) * time.Second / time.Duration(rate))); d > 0 {
				if err := w.Flush(); err != nil {
					b.Fatal(err)
				}
				time.Sleep(d)
			}
		}
		fmt.Fprintf(w, `<message to="%s" type="groupchat" id="g%08d"><body>%d</body><extraParams xmlns="jabber:client"><save_to_history>1</save_to_history></extraParams></message>`,
			room, i, time.Now().UnixNano())
		if i%16 == 15 || i == b.N-1 {
			if err := w.Flush(); err != nil {
				b.Fatal(err)
			}
		}
		for int64(i)-slowest() > 200 {
			time.Sleep(100 * time.Microsecond)
		}
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	if got := slowest(); got < int64(b.N) {
		var short []string
		for i := 1; i < members; i++ {
			if n := received[i].Load(); n < int64(b.N) {
				short = append(short, fmt.Sprintf("member %d: %d", i, n))
			}
		}
		var last string
		for k, el := sender.readUnit(2 * time.Second); k != 0; k, el = sender.readUnit(time.Second) {
			if !strings.Contains(el, "<body>") {
				last = el
			}
		}
		b.Fatalf("members short of %d messages: %v; sender's last non-message element: %s", b.N, short[:min(len(short), 3)], last)
	}
	slices.Sort(lat)
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "stored-msgs/s")
	b.ReportMetric(float64(len(lat))/elapsed.Seconds(), "deliveries/s")
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
}

func ptrTo[T any](v T) *T { return &v }

// BenchmarkMemoryUnderAttack: one user opens 100 resumable stream-managed
// sessions that never read (a child process), another floods that user
// with large messages, then every connection is cut. It reports the
// server's heap above the baseline at the peak, right after the cut, and
// PARLEY_BENCH_WAIT later (default 5m: the resume timeout, so hibernated
// sessions have ended). PARLEY_BENCH_FLOOD_MB sets the flood (default 64).
func BenchmarkMemoryUnderAttack(b *testing.B) {
	wait := 5 * time.Minute
	if d, err := time.ParseDuration(os.Getenv("PARLEY_BENCH_WAIT")); err == nil {
		wait = d
	}
	floodMB := 64
	if v, err := strconv.Atoi(os.Getenv("PARLEY_BENCH_FLOOD_MB")); err == nil {
		floodMB = v
	}
	const sessions = 100
	for i := 0; i < b.N; i++ {
		e := newChatEnv(b)
		victim, _ := e.user("target", "target-password")
		sender, _ := e.user("flooder", "flooder-password")
		base := heapAndStack()
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), "PARLEY_LOADER=tls", "PARLEY_LOADER_SM=1", "PARLEY_LOADER_N="+strconv.Itoa(sessions),
			"PARLEY_LOADER_ADDR="+e.c2sTLS, "PARLEY_LOADER_USER="+victim, "PARLEY_LOADER_SECRET=target-password")
		out, _ := cmd.StdoutPipe()
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			b.Fatal(err)
		}
		if line, _ := bufio.NewReader(out).ReadString('\n'); strings.TrimSpace(line) != "ready" {
			b.Fatalf("loader: %s", line)
		}
		f := e.login(viaTLS, sender, "flooder-password")
		body := strings.Repeat("x", 64<<10)
		for j := 0; j < floodMB*16; j++ {
			f.send(fmt.Sprintf(`<message to="%s@localhost" type="chat" id="f%d"><body>%s</body></message>`, victim, j, body))
		}
		f.send(`<iq type="get" id="done"><ping xmlns="urn:xmpp:ping"/></iq>`)
		f.readUntil(`id="done"`)
		peak := heapAndStack()
		cmd.Process.Kill() // every connection cut at once
		cmd.Wait()
		time.Sleep(2 * time.Second)
		cut := heapAndStack()
		time.Sleep(wait)
		after := heapAndStack()
		mb := func(v uint64) float64 { return (float64(v) - float64(base)) / (1 << 20) }
		b.ReportMetric(mb(peak), "MB-peak")
		b.ReportMetric(mb(cut), "MB-after-cut")
		b.ReportMetric(mb(after), "MB-after-wait")
		b.ReportMetric(float64(e.srv.SessionCount()), "sessions-left")
	}
}
