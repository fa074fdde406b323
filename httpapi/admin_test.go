package httpapi_test

import (
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
