package files

import (
	"errors"
	"testing"
)

func TestCheckName(t *testing.T) {
	for _, tc := range []struct {
		name string
		ok   bool
	}{
		{"photo.jpg", true}, {"voice note (2).m4a", true}, {"Отчёт.pdf", true},
		{"", false}, {".", false}, {"..", false}, {"../../etc/passwd", false}, {`a\b`, false}, {"a/b", false},
		{"tab\there", false}, {"nul\x00", false}, {string(make([]rune, 256)), false},
	} {
		err := checkName(tc.name)
		var r *Refusal
		if (err == nil) != tc.ok || err != nil && (!errors.As(err, &r) || r.Field != "name") {
			t.Errorf("checkName(%q) = %v, want ok=%v", tc.name, err, tc.ok)
		}
	}
}

func TestContentMatches(t *testing.T) {
	png := []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
	gif := []byte("GIF89a\x01\x00\x01\x00")
	pdf := []byte("%PDF-1.4\n")
	for _, tc := range []struct {
		declared string
		head     []byte
		ok       bool
	}{
		{"image/png", png, true},
		{"image/gif", png, false},               // another image type
		{"image/png", pdf, false},               // not an image at all
		{"application/pdf", pdf, true},          //
		{"text/plain", png, false},              // an image declared as text
		{"audio/mp4", []byte("xx"), true},       // unknown to the sniffer: taken as declared
		{"application/octet-stream", gif, true}, // "some bytes" is never wrong
		{"image/svg+xml", []byte("<svg xmlns='http://www.w3.org/2000/svg'/>"), true},
		{"text/plain", []byte("hello"), true},
		{"image/png", nil, true}, // an empty file has nothing to contradict
	} {
		if err := contentMatches(tc.declared, tc.head); (err == nil) != tc.ok {
			t.Errorf("contentMatches(%s, %q) = %v, want ok=%v", tc.declared, tc.head, err, tc.ok)
		}
	}
}

func TestValidUID(t *testing.T) {
	if !ValidUID(newUID()) {
		t.Fatal("a new uid is not valid")
	}
	for _, bad := range []string{"", "short", "../../../../../../../../../../etc", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"} {
		if ValidUID(bad) {
			t.Errorf("ValidUID(%q)", bad)
		}
	}
}
