//go:build clients

package clients

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/parley-chat/parley/internal/testenv"
)

// roundRobin forwards each new TCP connection to the next backend, so
// clients that all use one URL land on different nodes.
func roundRobin(t *testing.T, backends []int) int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	var next atomic.Int64
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			port := backends[int(next.Add(1)-1)%len(backends)]
			go func() {
				defer c.Close()
				b, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port))
				if err != nil {
					return
				}
				defer b.Close()
				go io.Copy(b, c)
				io.Copy(c, b)
			}()
		}
	}()
	return ln.Addr().(*net.TCPAddr).Port
}

func TestClusterOfThree(t *testing.T) {
	uri, db := testenv.MongoURI(t)
	redis, stopRedis := testenv.RedisStoppable(t)
	s3 := testenv.S3(t)
	args := func(id string) []string {
		return []string{"--mongo-uri", uri, "--mongo-db", db, "--mongo-write-concern", "1", "--redis-addr", redis, "--node-id", id, "--heartbeat-ttl", "3s",
			"--s3-endpoint", s3.Endpoint, "--s3-bucket", "parley-cluster", "--s3-access-key", s3.AccessKey, "--s3-secret-key", s3.SecretKey,
			"--s3-tls=false", "--s3-path-style", "--s3-create-bucket", "--s3-presign-downloads", "5m", "--s3-presign-uploads"}
	}
	var nodes []*node
	for _, id := range []string{"n1", "n2", "n3"} {
		nodes = append(nodes, startNode(t, args(id)...)) // one after another: the first creates app 1
	}
	first := nodes[0]
	var apps struct {
		Items []struct {
			ID int64 `json:"id"`
		} `json:"items"`
	}
	first.adminToken = readToken(t, first)
	first.admin_(t, "GET", "/api/apps", nil, &apps)
	if len(apps.Items) != 1 {
		t.Fatalf("apps in the shared store: %+v", apps.Items)
	}
	first.authKey = readAuthKey(t, first)
	alice := first.addUser(t, "sdk_alice", "alice-password")
	bob := first.addUser(t, "sdk_bob", "bob-password")
	first.addUser(t, "sdk_carol", "carol-password")

	status := func() []string {
		out, err := exec.Command(os.Getenv("PARLEY_BIN"), "cluster", "status", "--json", "--server", fmt.Sprintf("http://127.0.0.1:%d", first.admin), "--admin-token", first.adminToken).CombinedOutput()
		if err != nil {
			t.Fatalf("cluster status: %v %s", err, out)
		}
		var s struct {
			Nodes []struct {
				Node string `json:"node"`
			} `json:"nodes"`
		}
		json.Unmarshal(out, &s)
		var ids []string
		for _, n := range s.Nodes {
			ids = append(ids, n.Node)
		}
		return ids
	}
	if got := status(); len(got) != 3 {
		t.Fatalf("live nodes %v", got)
	}

	ws := roundRobin(t, []int{nodes[0].ws, nodes[1].ws, nodes[2].ws})
	env := []string{
		"PARLEY_APP_ID=1", "PARLEY_AUTH_KEY=" + first.authKey, "PARLEY_DOMAIN=localhost",
		fmt.Sprintf("PARLEY_HTTP=http://127.0.0.1:%d", nodes[1].http),
		fmt.Sprintf("PARLEY_WS=ws://127.0.0.1:%d/ws", ws),
	}
	t.Run("connectycube SDK suite across three nodes", func(t *testing.T) {
		run(t, "node", env, "node", "--test", "--test-force-exit", "sdk.test.cjs")
	})
	t.Run("slixmpp HTTP File Upload straight to S3 (presigned PUT and GET)", func(t *testing.T) {
		env := append(append([]string(nil), env...), fmt.Sprintf("PARLEY_C2S_PORT=%d", nodes[0].c2s),
			fmt.Sprintf("PARLEY_ALICE_JID=%d-1@localhost", alice), "PARLEY_ALICE_PASSWORD=alice-password",
			fmt.Sprintf("PARLEY_BOB_JID=%d-1@localhost", bob), "PARLEY_BOB_PASSWORD=bob-password")
		run(t, ".", env, "/usr/bin/python3", "slixmpp_upload.py")
	})
	t.Run("a file uploaded through one node is read through the others (S3)", func(t *testing.T) {
		filesAcrossNodes(t, first.authKey, nodes)
	})
	t.Run("connectycube SDK storage, each request to the next node", func(t *testing.T) {
		httpRR := roundRobin(t, []int{nodes[0].http, nodes[1].http, nodes[2].http})
		env := append(append([]string(nil), env...), fmt.Sprintf("PARLEY_HTTP=http://127.0.0.1:%d", httpRR))
		run(t, "node", env, "node", "--test", "--test-force-exit", "sdk_storage.test.cjs")
	})

	// kill -9 of one node: it drops out of the live nodes within the
	// heartbeat TTL, and the others stay ready.
	nodes[2].cmd.Process.Signal(syscall.SIGKILL)
	time.Sleep(4 * time.Second)
	if got := status(); len(got) != 2 || strings.Contains(strings.Join(got, ","), "n3") {
		t.Fatalf("after kill -9 of n3, live nodes %v", got)
	}
	resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/readyz", nodes[0].admin))
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("n1 not ready after n3 died: %v", err)
	}
	// /readyz fails while Redis is unreachable.
	stopRedis()
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/readyz", nodes[0].admin))
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusServiceUnavailable {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("/readyz still ready with Redis down")
		}
		time.Sleep(200 * time.Millisecond)
	}
	nodes[0].stop(t)
	nodes[1].stop(t)
}

func readToken(t *testing.T, n *node) string {
	b, err := os.ReadFile(n.data + "/admin-token")
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

// filesAcrossNodes creates a file on n1, uploads it to the URL n1 gave,
// completes it on n2 and downloads it from n3 and n1.
func filesAcrossNodes(t *testing.T, authKey string, nodes []*node) {
	call := func(n *node, method, path, token, ct string, body io.Reader) (int, []byte) {
		req, _ := http.NewRequest(method, fmt.Sprintf("http://127.0.0.1:%d%s", n.http, path), body)
		if strings.HasPrefix(path, "http") {
			req, _ = http.NewRequest(method, path, body)
		}
		req.Header.Set("Content-Type", ct)
		if token != "" {
			req.Header.Set("CB-Token", token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, b
	}
	code, b := call(nodes[0], "POST", "/session.json", "", "application/json",
		strings.NewReader(`{"application_id":1,"auth_key":"`+authKey+`","user":{"login":"sdk_alice","password":"alice-password"}}`))
	var sess struct {
		Session struct {
			Token string `json:"token"`
		} `json:"session"`
	}
	if json.Unmarshal(b, &sess); code != 201 || sess.Session.Token == "" {
		t.Fatalf("session: %d %s", code, b)
	}
	tok := sess.Session.Token
	code, b = call(nodes[0], "POST", "/blobs.json", tok, "application/json", strings.NewReader(`{"blob":{"name":"shared.bin","content_type":"application/octet-stream","public":false}}`))
	var blob struct {
		Blob struct {
			ID     int64  `json:"id"`
			UID    string `json:"uid"`
			Access struct {
				Params string `json:"params"`
			} `json:"blob_object_access"`
		} `json:"blob"`
	}
	if json.Unmarshal(b, &blob); code != 201 || blob.Blob.Access.Params == "" {
		t.Fatalf("create on n1: %d %s", code, b)
	}
	data := strings.Repeat("across the cluster ", 60000) // about 1 MiB
	if code, b := call(nodes[0], "PUT", blob.Blob.Access.Params, "", "application/octet-stream", strings.NewReader(data)); code != 201 {
		t.Fatalf("upload to n1: %d %s", code, b)
	}
	if code, b := call(nodes[1], "PUT", fmt.Sprintf("/blobs/%d/complete.json", blob.Blob.ID), tok, "application/json", strings.NewReader(fmt.Sprintf(`{"size":%d}`, len(data)))); code != 200 {
		t.Fatalf("complete on n2: %d %s", code, b)
	}
	for _, n := range []*node{nodes[2], nodes[0]} {
		if code, b := call(n, "GET", "/blobs/"+blob.Blob.UID+"?token="+tok, "", "", nil); code != 200 || string(b) != data {
			t.Fatalf("download from node on port %d: %d, %d bytes", n.http, code, len(b))
		}
	}
}
