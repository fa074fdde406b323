package storetest

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/parley-chat/parley/addressbook"
)

// AddressBook checks books per user and device: merge, rename, destroy,
// force, normalized phones, rejected entries, the size caps, deletion.
func AddressBook(t *testing.T, open func(t *testing.T) addressbook.Store) {
	ctx := context.Background()
	b := addressbook.New(open(t))
	up := func(force bool, udid string, cs ...[3]string) (*addressbook.Result, error) {
		var u addressbook.Upload
		u.Force, u.UDID = force, udid
		for _, c := range cs {
			u.Contacts = append(u.Contacts, struct {
				Name    string
				Phone   string
				Destroy bool
			}{c[0], c[1], c[2] == "destroy"})
		}
		return b.Upload(ctx, 1, 1, u)
	}
	list := func(udid string) string {
		cs, err := b.Contacts(ctx, 1, 1, udid)
		if err != nil {
			t.Fatal(err)
		}
		return fmt.Sprint(cs)
	}
	r, err := up(false, "", [3]string{"Ann", "+1 (555) 010-9999", ""}, [3]string{"Ben", "555 0101", ""}, [3]string{"Bad", "12", ""})
	if err != nil || r.Created != 2 || len(r.Rejected) != 1 {
		t.Fatalf("first upload: %+v %v", r, err)
	}
	if got := list(""); got != "[{Ann +15550109999} {Ben 5550101}]" {
		t.Fatalf("book: %s", got)
	}
	r, _ = up(false, "", [3]string{"Annie", "+15550109999", ""}, [3]string{"", "555-0101", "destroy"})
	if r.Updated != 1 || r.Deleted != 1 || list("") != "[{Annie +15550109999}]" {
		t.Fatalf("merge: %+v %s", r, list(""))
	}
	up(false, "phone-2", [3]string{"Cy", "0044 20 7946 0000", ""})
	if got := list("phone-2"); got != "[{Cy +442079460000}]" {
		t.Fatalf("another device's book: %s", got)
	}
	r, _ = up(true, "", [3]string{"Dee", "5550102", ""})
	if r.Deleted != 1 || list("") != "[{Dee 5550102}]" {
		t.Fatalf("force: %+v %s", r, list(""))
	}
	big := make([][3]string, addressbook.MaxContacts+1)
	for i := range big {
		big[i] = [3]string{"x", fmt.Sprint(1000000 + i), ""}
	}
	var ref *addressbook.Refusal
	if _, err := up(false, "", big...); !errors.As(err, &ref) {
		t.Fatalf("an oversized book: %v", err)
	}
	if err := b.ForgetUser(ctx, 1, 1); err != nil || list("") != "[]" || list("phone-2") != "[]" {
		t.Fatalf("a deleted user's books: %v", err)
	}
	// Full books on several devices reach the cap over all of them.
	book := func(from int) [][3]string {
		cs := make([][3]string, addressbook.MaxContacts)
		for i := range cs {
			cs[i] = [3]string{"x", fmt.Sprint(2000000 + from + i), ""}
		}
		return cs
	}
	devices := addressbook.MaxPerUser / addressbook.MaxContacts
	for d := range devices {
		if _, err := up(true, fmt.Sprintf("dev-%d", d), book(d*addressbook.MaxContacts)...); err != nil {
			t.Fatalf("device %d: %v", d, err)
		}
	}
	if _, err := up(false, "dev-last", [3]string{"y", "5550199", ""}); !errors.As(err, &ref) {
		t.Fatalf("a contact over the per-user cap: %v", err)
	}
	if _, err := up(true, "dev-0", [3]string{"z", "5550198", ""}); err != nil {
		t.Fatalf("replacing a book under the cap: %v", err)
	}
	if _, err := up(false, "dev-last", [3]string{"y", "5550199", ""}); err != nil {
		t.Fatalf("a contact after making room: %v", err)
	}
}
