package httpapi_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"mime/multipart"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parley-chat/parley/accounts"
	"github.com/parley-chat/parley/dialogs"
	"github.com/parley-chat/parley/files"
	"github.com/parley-chat/parley/httpapi"
	"github.com/parley-chat/parley/internal/testenv"
	"github.com/parley-chat/parley/storage/blobfs"
	"github.com/parley-chat/parley/storage/blobs3"
	"github.com/parley-chat/parley/storage/sqlite"
	"github.com/parley-chat/parley/storage/storetest"
)

type blobEnv struct {
	t     testing.TB
	url   string
	token string
	fs    *files.Service
	count func() int
}

// newBlobEnv serves the storage API over SQLite records and the bytes
// backend openBytes gives.
func newBlobEnv(t testing.TB, openBytes func(t testing.TB) (files.Bytes, func() int)) *blobEnv {
	ctx := context.Background()
	db, err := sqlite.Open(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	acc := accounts.NewService(db)
	acc.Iterations = 1000
	app, _ := acc.CreateApp(ctx, "f", accounts.AppOptions{})
	login, pw := "filer", "filer-password"
	if _, err := acc.CreateUser(ctx, app.ID, accounts.UserInput{Login: &login, Password: &pw}); err != nil {
		t.Fatal(err)
	}
	_, tok, _, err := acc.CreateSession(ctx, app.ID, app.AuthKey, &accounts.Login{Login: login, Password: pw})
	if err != nil {
		t.Fatal(err)
	}
	b, count := openBytes(t)
	fs := files.NewService(db, b, dialogs.NewService(db, db), []byte("secret"))
	srv := httptest.NewServer(httpapi.New(httpapi.Config{Accounts: acc, Files: fs, Log: slog.New(slog.DiscardHandler)}))
	t.Cleanup(srv.Close)
	return &blobEnv{t: t, url: srv.URL, token: tok, fs: fs, count: count}
}

func fsBytes(t testing.TB) (files.Bytes, func() int) {
	b, count := storetest.FSBytes(t.(*testing.T))
	return b, func() int { return count(t.(*testing.T)) }
}

func (e *blobEnv) do(method, u, ct string, body io.Reader) (int, map[string]any) {
	e.t.Helper()
	req, _ := http.NewRequest(method, u, body)
	if lr, ok := body.(*io.LimitedReader); ok {
		req.ContentLength = lr.N // as real clients send it
	}
	req.Header.Set("CB-Token", e.token)
	if ct != "" {
		req.Header.Set("Content-Type", ct)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

// create makes a blob and returns its id and upload URL.
func (e *blobEnv) create(name, ct string) (int64, string) {
	e.t.Helper()
	code, out := e.do("POST", e.url+"/blobs.json", "application/json", strings.NewReader(`{"blob":{"name":"`+name+`","content_type":"`+ct+`","public":false}}`))
	if code != 201 {
		e.t.Fatalf("create %s: %d %v", name, code, out)
	}
	b := out["blob"].(map[string]any)
	return int64(b["id"].(float64)), b["blob_object_access"].(map[string]any)["params"].(string)
}

// multipartUpload posts body the way the SDK does: the URL's query as
// fields, then the file as a part without a filename.
func (e *blobEnv) multipartUpload(upload string, body io.Reader) (int, map[string]any) {
	u, _ := url.Parse(upload)
	q := u.Query()
	pr, pw := io.Pipe()
	mw := multipart.NewWriter(pw)
	go func() {
		for k, v := range q {
			mw.WriteField(k, v[0])
		}
		part, _ := mw.CreatePart(map[string][]string{"Content-Disposition": {`form-data; name="file"`}, "Content-Type": {"application/octet-stream"}})
		if _, err := io.Copy(part, body); err != nil {
			pw.CloseWithError(err)
			return
		}
		mw.Close()
		pw.Close()
	}()
	u.RawQuery = ""
	return e.do("POST", u.String(), mw.FormDataContentType(), pr)
}

// The storage API refuses bad input with a clear error and keeps nothing.
func TestBlobRefusals(t *testing.T) {
	e := newBlobEnv(t, fsBytes)
	l := e.fs.Limits()
	l.MaxSize = 1 << 20
	e.fs.SetLimits(l)

	if code, out := e.do("POST", e.url+"/blobs.json", "application/json", strings.NewReader(`{"blob":{"name":"../../etc/passwd","content_type":"text/plain"}}`)); code != 422 || out["errors"] == nil {
		t.Fatalf("a path-traversal name: %d %v", code, out)
	}
	_, up := e.create("big.bin", "application/octet-stream")
	if code, out := e.multipartUpload(up, io.LimitReader(zeros{}, 1<<20+1)); code != 413 || !strings.Contains(fmt.Sprint(out["errors"]), "larger than") {
		t.Fatalf("over the limit: %d %v", code, out)
	}
	_, up = e.create("photo.png", "image/png")
	if code, out := e.multipartUpload(up, strings.NewReader("GIF89a not a png")); code != 422 || !strings.Contains(fmt.Sprint(out["errors"]), "content_type") {
		t.Fatalf("a wrong content type: %d %v", code, out)
	}
	// A truncated upload: the connection ends in the middle of the body.
	_, up = e.create("cut.bin", "application/octet-stream")
	u, _ := url.Parse(up)
	conn, err := net.Dial("tcp", u.Host)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(conn, "PUT %s HTTP/1.1\r\nHost: %s\r\nContent-Length: 100000\r\n\r\n%s", u.RequestURI(), u.Host, strings.Repeat("x", 5000))
	conn.Close()
	// A second complete, and a complete without an upload.
	id, up := e.create("ok.txt", "text/plain")
	if code, _ := e.do("PUT", e.url+"/blobs/"+strconv.FormatInt(id, 10)+"/complete.json", "application/json", strings.NewReader(`{"size":5}`)); code != 422 {
		t.Fatalf("complete before the upload: %d", code)
	}
	if code, out := e.do("PUT", up, "text/plain", strings.NewReader("hello")); code != 201 {
		t.Fatalf("PUT upload: %d %v", code, out)
	}
	for i, want := range []int{200, 422} {
		if code, out := e.do("PUT", e.url+"/blobs/"+strconv.FormatInt(id, 10)+"/complete.json", "application/json", strings.NewReader(`{"size":5}`)); code != want {
			t.Fatalf("complete #%d: %d %v", i+1, code, out)
		}
	}
	// Nothing of the refused or cut uploads is left: only ok.txt.
	deadline := time.Now().Add(5 * time.Second)
	for e.count() != 1 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if n := e.count(); n != 1 {
		t.Fatalf("%d files on disk, want the one completed", n)
	}
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) { clear(p); return len(p), nil }

// rssKB is this process's resident memory.
func rssKB() int64 {
	b, _ := os.ReadFile("/proc/self/statm")
	f := strings.Fields(string(b))
	if len(f) < 2 {
		return 0
	}
	pages, _ := strconv.ParseInt(f[1], 10, 64)
	return pages * int64(os.Getpagesize()) / 1024
}

// BenchmarkBlobs measures the storage API on a bytes backend: upload and
// download throughput of a 10 MiB file and of 1,000 files of 100 KiB, and
// the resident memory while 50 uploads of 10 MiB run at once.
func BenchmarkBlobs(b *testing.B) {
	backends := append([]benchBackend{{"fs", benchFS}}, s3Backends()...)
	for _, be := range backends {
		b.Run(be.name, func(b *testing.B) {
			for range b.N {
				e := newBlobEnv(b, be.open)
				l := e.fs.Limits()
				l.MaxSize, l.AppQuota = 64<<20, 0
				e.fs.SetLimits(l)
				put := func(size int64) (string, time.Duration) {
					id, up := e.create("f.bin", "application/octet-stream")
					start := time.Now()
					if code, out := e.do("PUT", up, "application/octet-stream", io.LimitReader(rand.NewChaCha8([32]byte{byte(size)}), size)); code != 201 {
						b.Fatalf("upload: %d %v", code, out)
					}
					d := time.Since(start)
					e.do("PUT", e.url+"/blobs/"+strconv.FormatInt(id, 10)+"/complete.json", "application/json", strings.NewReader(`{}`))
					_, info := e.do("GET", e.url+"/blobs/"+strconv.FormatInt(id, 10)+".json", "", nil)
					return info["blob"].(map[string]any)["uid"].(string), d
				}
				get := func(uid string) time.Duration {
					start := time.Now()
					req, _ := http.NewRequest("GET", e.url+"/blobs/"+uid+"?token="+e.token, nil)
					resp, err := http.DefaultClient.Do(req)
					if err != nil {
						b.Fatal(err)
					}
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					return time.Since(start)
				}
				mbps := func(bytes int64, d time.Duration) float64 { return float64(bytes) / (1 << 20) / d.Seconds() }

				put(1 << 20) // the store's first write (SeaweedFS grows its volumes)
				uid, d := put(10 << 20)
				b.ReportMetric(mbps(10<<20, d), "10MiB-up-MB/s")
				b.ReportMetric(mbps(10<<20, get(uid)), "10MiB-down-MB/s")

				var up, down time.Duration
				var uids []string
				for range 1000 {
					uid, d := put(100 << 10)
					up += d
					uids = append(uids, uid)
				}
				for _, u := range uids {
					down += get(u)
				}
				b.ReportMetric(mbps(1000*100<<10, up), "1000x100KiB-up-MB/s")
				b.ReportMetric(mbps(1000*100<<10, down), "1000x100KiB-down-MB/s")

				// 50 uploads of 10 MiB (BLOB_BENCH_MIB) at once; resident
				// memory sampled.
				mib := int64(10)
				if v, err := strconv.ParseInt(os.Getenv("BLOB_BENCH_MIB"), 10, 64); err == nil && v > 0 && v <= 40 {
					mib = v
				}
				type slot struct {
					id int64
					up string
				}
				slots := make([]slot, 50)
				for i := range slots {
					slots[i].id, slots[i].up = e.create("c.bin", "application/octet-stream")
				}
				base := rssKB()
				var peak int64
				stop := make(chan struct{})
				sampled := make(chan struct{})
				go func() {
					defer close(sampled)
					for {
						select {
						case <-stop:
							return
						case <-time.After(5 * time.Millisecond):
							peak = max(peak, rssKB())
						}
					}
				}()
				var wg sync.WaitGroup
				var durs []time.Duration
				var mu sync.Mutex
				start := time.Now()
				for i := range slots {
					wg.Add(1)
					go func(s slot) {
						defer wg.Done()
						t0 := time.Now()
						if code, out := e.do("PUT", s.up, "application/octet-stream", io.LimitReader(zeros{}, mib<<20)); code != 201 {
							b.Errorf("concurrent upload: %d %v", code, out)
						}
						mu.Lock()
						durs = append(durs, time.Since(t0))
						mu.Unlock()
					}(slots[i])
				}
				wg.Wait()
				all := time.Since(start)
				close(stop)
				<-sampled
				sort.Slice(durs, func(i, j int) bool { return durs[i] < durs[j] })
				b.ReportMetric(mbps(50*mib<<20, all), "50xN-MiB-up-MB/s")
				b.ReportMetric(float64(peak-base)/1024, "50xN-MiB-rss-growth-MB")
			}
		})
	}
}

type benchBackend struct {
	name string
	open func(t testing.TB) (files.Bytes, func() int)
}

func benchFS(t testing.TB) (files.Bytes, func() int) {
	d, err := blobfs.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return d, nil
}

// s3Backends is the S3 backend on the test S3 server (SeaweedFS on
// loopback, or S3_ENDPOINT).
func s3Backends() []benchBackend {
	return []benchBackend{{"s3", func(t testing.TB) (files.Bytes, func() int) {
		s := testenv.S3(t)
		b, err := blobs3.Open(context.Background(), blobs3.Config{Endpoint: s.Endpoint, Region: s.Region, AccessKey: s.AccessKey,
			SecretKey: s.SecretKey, Bucket: "bench-" + strconv.FormatInt(time.Now().UnixNano(), 36), PathStyle: true, CreateBucket: true})
		if err != nil {
			t.Fatal(err)
		}
		return b, nil
	}}}
}
