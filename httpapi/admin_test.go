package httpapi_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/parley-chat/parley/httpapi"
)

func TestAdminRequiresToken(t *testing.T) {
	e := newAPI(t)
	ad := &httpapi.Admin{Accounts: e.acc, Token: "secret-token", Metrics: http.NotFoundHandler()}
	srv := httptest.NewServer(ad.Handler())
	defer srv.Close()
	cases := []struct {
		path, auth string
		want       int
	}{
		{"/healthz", "", 200},
		{"/readyz", "", 200},
		{"/api/apps", "", 401},
		{"/api/apps", "Bearer wrong", 401},
		{"/metrics", "", 401},
		{"/api/apps", "Bearer secret-token", 200},
	}
	for _, tc := range cases {
		req, _ := http.NewRequest("GET", srv.URL+tc.path, nil)
		if tc.auth != "" {
			req.Header.Set("Authorization", tc.auth)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tc.want {
			t.Errorf("%s with %q: %d, want %d", tc.path, tc.auth, resp.StatusCode, tc.want)
		}
	}
	req, _ := http.NewRequest("POST", srv.URL+"/api/apps/1/users", strings.NewReader(`{"login":"ops","password":"ops-password"}`))
	req.Header.Set("Authorization", "Bearer secret-token")
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 201 {
		t.Fatalf("add user: %v %v", err, resp.Status)
	}
}

// TestAdminAuthKeys: keys are shown when made (create, rotate) and never
// listed; a rotated key replaces the old one.
func TestAdminAuthKeys(t *testing.T) {
	e := newAPI(t)
	ad := &httpapi.Admin{Accounts: e.acc, Token: "secret-token", Metrics: http.NotFoundHandler()}
	srv := httptest.NewServer(ad.Handler())
	defer srv.Close()
	admin := func(method, path, body string) (int, map[string]any) {
		t.Helper()
		req, _ := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer secret-token")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out map[string]any
		json.NewDecoder(resp.Body).Decode(&out)
		return resp.StatusCode, out
	}
	code, out := admin("POST", "/api/apps", `{"name":"second"}`)
	created, _ := out["app"].(map[string]any)
	key, _ := created["auth_key"].(string)
	if code != 201 || len(key) != 32 {
		t.Fatalf("create: %d %v", code, out)
	}
	code, out = admin("GET", "/api/apps", "")
	if code != 200 {
		t.Fatalf("list: %d %v", code, out)
	}
	for _, it := range out["items"].([]any) {
		if _, shown := it.(map[string]any)["auth_key"]; shown {
			t.Fatalf("app list shows an auth key: %v", it)
		}
	}
	id := itoa(int64(created["id"].(float64)))
	code, out = admin("POST", "/api/apps/"+id+"/auth_key", "")
	newKey, _ := out["app"].(map[string]any)["auth_key"].(string)
	if code != 200 || len(newKey) != 32 || newKey == key {
		t.Fatalf("rotate: %d %v", code, out)
	}
	session := func(k string) int {
		c, _ := e.call("POST", "/session.json", "", `{"application_id":`+id+`,"auth_key":"`+k+`"}`)
		return c
	}
	if session(key) != 401 || session(newKey) != 201 {
		t.Fatalf("after rotation: old key %d, new key %d", session(key), session(newKey))
	}
	if code, _ := admin("POST", "/api/apps/999/auth_key", ""); code != 404 {
		t.Fatalf("rotate a missing app: %d", code)
	}
}

// TestAdminAppArchiveAll: archive_all is set when an app is created, off
// by default, and listed.
func TestAdminAppArchiveAll(t *testing.T) {
	e := newAPI(t)
	ad := &httpapi.Admin{Accounts: e.acc, Token: "secret-token", Metrics: http.NotFoundHandler()}
	srv := httptest.NewServer(ad.Handler())
	defer srv.Close()
	admin := func(method, path, body string) (int, map[string]any) {
		t.Helper()
		req, _ := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer secret-token")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out map[string]any
		json.NewDecoder(resp.Body).Decode(&out)
		return resp.StatusCode, out
	}
	code, out := admin("POST", "/api/apps", `{"name":"mam","archive_all":true}`)
	if app, _ := out["app"].(map[string]any); code != 201 || app["archive_all"] != true {
		t.Fatalf("create with archive_all: %d %v", code, out)
	}
	code, out = admin("POST", "/api/apps", `{"name":"cc"}`)
	if app, _ := out["app"].(map[string]any); code != 201 || app["archive_all"] != false {
		t.Fatalf("create without: %d %v", code, out)
	}
	_, out = admin("GET", "/api/apps", "")
	got := map[string]any{}
	for _, it := range out["items"].([]any) {
		a := it.(map[string]any)
		got[a["name"].(string)] = a["archive_all"]
	}
	if got["mam"] != true || got["cc"] != false {
		t.Fatalf("listed archive_all: %v", got)
	}
}
