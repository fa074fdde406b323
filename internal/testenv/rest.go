package testenv

import (
	"io"
	"net/http"
	"strings"
	"testing"
)

// REST sends a request the way the ConnectyCube SDK does (a JSON body on POST
// and PUT, form encoding otherwise; the session token in CB-Token) and
// returns the status and the raw answer.
func REST(t testing.TB, method, url, token, body string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if method == http.MethodPost || method == http.MethodPut {
		req.Header.Set("Content-Type", "application/json;charset=utf-8")
	} else {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=UTF-8")
	}
	if token != "" {
		req.Header.Set("CB-Token", token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, b
}
