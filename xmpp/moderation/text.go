package moderation

import (
	"bytes"
	"encoding/xml"
	"strings"
	"time"
)

var timeNow = time.Now

// childText returns the text of the first child element named local.
func childText(raw []byte, local string) string {
	d := xml.NewDecoder(bytes.NewReader(raw))
	depth := 0
	for {
		t, err := d.Token()
		if err != nil {
			return ""
		}
		switch t := t.(type) {
		case xml.StartElement:
			depth++
			if depth == 2 && t.Name.Local == local {
				var s string
				if d.DecodeElement(&s, &t) != nil {
					return ""
				}
				return strings.TrimSpace(s)
			}
		case xml.EndElement:
			depth--
		}
	}
}
