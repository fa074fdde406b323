package httpapi_test

import (
	"strconv"
	"strings"
	"testing"
)

// TestBadInputIs400: oversized lists, long search strings and control
// bytes in filter keys or values are refused with a 400 naming the limit,
// never reach the store as a query it cannot run.
func TestBadInputIs400(t *testing.T) {
	c := newChatAPI(t, "alice", "bob")
	d := c.dialog("alice", `{"type":2,"name":"room","occupants_ids":"`+strconv.FormatInt(c.id["bob"], 10)+`"}`)
	did := d["_id"].(string)
	list := func(n int, item func(int) string) string {
		parts := make([]string, n)
		for i := range parts {
			parts[i] = item(i)
		}
		return strings.Join(parts, ",")
	}
	num := func(i int) string { return strconv.Itoa(i + 1) }
	hex := func(i int) string { return strings.Repeat("a", 16) + strconv.Itoa(100000+i) }
	cases := []struct {
		name, method, path, body, want string
	}{
		{"dialog filter with 101 ids", "GET", "/chat/Dialog.json?_id[in]=" + list(101, hex), "", "at most 100"},
		{"dialog filter with 40000 ids", "GET", "/chat/Dialog.json?type[in]=" + list(40000, num), "", "longer than 4096"},
		{"dialog filter repeated 101 times", "GET", "/chat/Dialog.json?" + strings.Repeat("type[]=2&", 101), "", "more than 100"},
		{"message filter with 101 ids", "GET", "/chat/Message.json?chat_dialog_id=" + did + "&sender_id[in]=" + list(101, num), "", "at most 100"},
		{"user ids", "GET", "/users/v2.json?id=" + list(101, num), "", "at most 100"},
		{"path list of 101 message ids", "DELETE", "/chat/Message/" + list(101, hex) + ".json", "", "at most 100"},
		{"path list of 101 dialog ids", "DELETE", "/chat/Dialog/" + list(101, hex) + ".json", "", "at most 100"},
		{"unread for 101 dialogs", "GET", "/chat/Message/unread.json?chat_dialog_ids=" + list(101, hex), "", "at most 100"},
		{"search in 101 dialogs", "GET", "/chat/search.json?search_text=hey&chat_dialog_ids=" + list(101, hex), "", "at most 100"},
		{"long search text", "GET", "/chat/search.json?search_text=" + strings.Repeat("x", 257), "", "at most 256"},
		{"long full_name search", "GET", "/users/v2.json?full_name=" + strings.Repeat("x", 257), "", "at most 256"},
		{"NUL in a filter value", "GET", "/chat/Dialog.json?name=a%00b", "", "control characters"},
		{"control byte in a filter key", "GET", "/chat/Dialog.json?extensions[a%01b]=1", "", "control characters"},
		{"bad UTF-8 in a filter value", "GET", "/chat/Dialog.json?name=%ff", "", "UTF-8"},
		{"long filter key", "GET", "/chat/Dialog.json?extensions[" + strings.Repeat("k", 200) + "]=1", "", "longer than 128"},
		{"too many parameters", "GET", "/chat/Dialog.json?" + strings.ReplaceAll(list(33, func(i int) string { return "extensions[k" + strconv.Itoa(i) + "]=1" }), ",", "&"), "", "at most 32"},
		{"1001 occupants in a body", "POST", "/chat/Dialog.json", `{"type":2,"name":"x","occupants_ids":[` + list(1001, num) + `]}`, "at most 1000"},
		{"1001 pinned ids in a body", "PUT", "/chat/Dialog/" + did + ".json", `{"push_all":{"pinned_messages_ids":"` + list(1001, hex) + `"}}`, "at most 1000"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			code, v, raw := c.do("alice", tc.method, strings.ReplaceAll(tc.path, ",", "%2C"), tc.body)
			if code != 400 || !strings.Contains(raw, tc.want) {
				t.Fatalf("%d %.300s, want 400 naming %q", code, raw, tc.want)
			}
			if m, ok := v.(map[string]any); !ok || m["errors"] == nil {
				t.Fatalf("no errors in %.300s", raw)
			}
		})
	}
}
