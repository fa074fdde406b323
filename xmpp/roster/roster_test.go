package roster

import (
	"bytes"
	"encoding/xml"
	"io"
	"testing"
)

// withTo readdresses a relayed presence whatever its attributes hold.
func TestWithTo(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{`<presence xmlns="jabber:client" from="a@x/r"/>`, `<presence xmlns="jabber:client" from="a@x/r" to="b@x"/>`},
		{`<presence xmlns="jabber:client" from="a@x/r" to="old@x"><status>hi</status></presence>`, `<presence xmlns="jabber:client" from="a@x/r" to="b@x"><status>hi</status></presence>`},
		{`<presence xmlns="jabber:client" from="a@x/r" id="a>b"><show>away</show></presence>`, `<presence xmlns="jabber:client" from="a@x/r" id="a>b" to="b@x"><show>away</show></presence>`},
	} {
		got := withTo([]byte(tc.in), "b@x")
		if string(got) != tc.want {
			t.Errorf("withTo(%s) = %s, want %s", tc.in, got, tc.want)
		}
		d := xml.NewDecoder(bytes.NewReader(got))
		for {
			if _, err := d.Token(); err == io.EOF {
				break
			} else if err != nil {
				t.Fatalf("ill-formed %s: %v", got, err)
			}
		}
	}
}
