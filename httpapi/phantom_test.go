package httpapi_test

import (
	"fmt"
	"strings"
	"testing"
)

// TestNoPhantomRecipients: naming a user id that does not exist in the app
// creates nothing (no private dialog, no group) and answers 422 naming it.
func TestNoPhantomRecipients(t *testing.T) {
	c := newChatAPI(t, "ann", "ben")
	const ghost = 987654
	cases := []struct {
		name, path, body, want string
	}{
		{"1-1 message to a user who does not exist", "/chat/Message.json", fmt.Sprintf(`{"recipient_id":%d,"message":"hi"}`, ghost), "recipient_id"},
		{"1-1 message, id as a string", "/chat/Message.json", fmt.Sprintf(`{"recipient_id":"%d","message":"hi"}`, ghost), "recipient_id"},
		{"private dialog with a user who does not exist", "/chat/Dialog.json", fmt.Sprintf(`{"type":3,"occupants_ids":[%d]}`, ghost), "987654"},
		{"group naming a user who does not exist", "/chat/Dialog.json", fmt.Sprintf(`{"type":2,"name":"g","occupants_ids":[%d,%d]}`, c.id["ben"], ghost), "987654"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			code, _, raw := c.do("ann", "POST", tc.path, tc.body)
			if code != 422 || !strings.Contains(raw, `"errors"`) || !strings.Contains(raw, tc.want) {
				t.Fatalf("got %d %s, want 422 naming %s", code, raw, tc.want)
			}
		})
	}
	_, v, raw := c.do("ann", "GET", "/chat/Dialog.json", "")
	if n := v.(map[string]any)["total_entries"]; n != float64(0) {
		t.Fatalf("dialogs were created for a user who does not exist: %s", raw)
	}
	// A real recipient still gets the private dialog made on the fly.
	if code, _, raw := c.do("ann", "POST", "/chat/Message.json", fmt.Sprintf(`{"recipient_id":%d,"message":"hi"}`, c.id["ben"])); code != 201 {
		t.Fatalf("message to a real user: %d %s", code, raw)
	}
}
