package httpapi

import (
	"net/http/httptest"
	"strings"
	"testing"
)

func TestBadXMLChars(t *testing.T) {
	for _, tc := range []struct {
		ct, body string
		bad      bool
	}{
		{"application/json", `{"message":"hello é 😀"}`, false},
		{"application/json", `{"message":"a\u0001b"}`, true},
		{"application/json", `{"message":"a\\u0001b"}`, false}, // an escaped backslash, then text
		{"application/json", `{"message":"\ud83d\ude00"}`, false},
		{"application/json", `{"message":"\ud800x"}`, true},
		{"application/json", `{"message":"\uDFFF"}`, true},
		{"application/json", `{"message":"\ufffe"}`, true},
		{"application/json", "{\"message\":\"\uffff\"}", true},
		{"application/json", `{"k\u0000":"v"}`, true},
		{"", `{"message":"\u001f"}`, true},
		{"application/x-www-form-urlencoded", "name=a%01b", true},
		{"application/x-www-form-urlencoded", "name=a%09b", false},
		{"multipart/form-data; boundary=x", "\x00\x01binary", false},
	} {
		r := httptest.NewRequest("POST", "/chat/Message.json", strings.NewReader(tc.body))
		r.Header.Set("Content-Type", tc.ct)
		if _, bad := badXMLChars(r, []byte(tc.body)); bad != tc.bad {
			t.Errorf("%s %q: bad=%v, want %v", tc.ct, tc.body, bad, tc.bad)
		}
	}
}
