// Package addressbook keeps the phone contacts users upload from their
// devices (ConnectyCube's /address_book.json) and finds which of them are
// users of the app.
package addressbook

import (
	"context"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Owner is a user's book on one device ("" for the whole user).
type Owner struct {
	AppID, UserID int64
	UDID          string
}

// Contact is one entry.
type Contact struct {
	Name  string `json:"name"`
	Phone string `json:"phone"`
}

// Store keeps books.
type Store interface {
	// Contacts lists a book, by phone.
	Contacts(ctx context.Context, o Owner) ([]Contact, error)
	// PutContacts adds or renames contacts, and removes those in remove;
	// with replace, the book is emptied first.
	PutContacts(ctx context.Context, o Owner, put []Contact, remove []string, replace bool) error
	CountContacts(ctx context.Context, o Owner) (int, error)
	// CountUserContacts counts a user's contacts over all devices.
	CountUserContacts(ctx context.Context, app, user int64) (int, error)
	DeleteUserContacts(ctx context.Context, app, user int64) error
}

// Limits.
const (
	MaxContacts = 1000 // per book
	MaxPerUser  = 5000 // over all of a user's devices
	MaxName     = 255
	MaxUDID     = 128
)

// Refusal is an upload the rules refuse.
type Refusal struct{ Msg string }

func (r *Refusal) Error() string { return r.Msg }

// Normalize reads a phone number: "+" and 8 to 15 digits is E.164 (kept
// with its "+"), otherwise the digits alone; ok false when there are fewer
// than 3 digits or more than 20.
func Normalize(phone string) (string, bool) {
	var b strings.Builder
	plus := strings.HasPrefix(strings.TrimSpace(phone), "+") || strings.HasPrefix(strings.TrimSpace(phone), "00")
	for _, r := range phone {
		if r >= '0' && r <= '9' {
			b.WriteRune(r)
		}
	}
	d := b.String()
	if strings.HasPrefix(strings.TrimSpace(phone), "00") {
		d = strings.TrimPrefix(d, "00")
	}
	if len(d) < 3 || len(d) > 20 {
		return "", false
	}
	if plus && len(d) >= 8 && len(d) <= 15 {
		return "+" + d, true
	}
	return d, true
}

// Variants are the forms a stored user phone may take for a normalized one.
func Variants(phone string) []string {
	if d, ok := strings.CutPrefix(phone, "+"); ok {
		return []string{phone, d}
	}
	return []string{phone, "+" + phone}
}

// Upload is one upload request.
type Upload struct {
	Contacts []struct {
		Name    string
		Phone   string
		Destroy bool
	}
	Force bool // replace the book
	UDID  string
}

// Result counts what an upload did.
type Result struct {
	Created, Updated, Deleted int
	Rejected                  map[string][]int // reason -> indexes of the contacts
}

// Book applies the rules.
type Book struct{ store Store }

// New returns a Book.
func New(s Store) *Book { return &Book{store: s} }

// Upload merges (or, with Force, replaces) a book.
func (b *Book) Upload(ctx context.Context, app, user int64, up Upload) (*Result, error) {
	if len(up.Contacts) > MaxContacts {
		return nil, &Refusal{"an address book holds at most " + strconv.Itoa(MaxContacts) + " contacts"}
	}
	if utf8.RuneCountInString(up.UDID) > MaxUDID {
		return nil, &Refusal{"udid is at most " + strconv.Itoa(MaxUDID) + " characters"}
	}
	o := Owner{app, user, up.UDID}
	old, err := b.store.Contacts(ctx, o)
	if err != nil {
		return nil, err
	}
	had := map[string]string{}
	for _, c := range old {
		had[c.Phone] = c.Name
	}
	res := &Result{Rejected: map[string][]int{}}
	var put []Contact
	var remove []string
	for i, c := range up.Contacts {
		phone, ok := Normalize(c.Phone)
		if !ok {
			res.Rejected["phone is not a phone number"] = append(res.Rejected["phone is not a phone number"], i)
			continue
		}
		if c.Destroy {
			if _, ok := had[phone]; ok && !up.Force {
				remove = append(remove, phone)
				res.Deleted++
			}
			continue
		}
		name := strings.TrimSpace(c.Name)
		if utf8.RuneCountInString(name) > MaxName {
			res.Rejected["name is too long"] = append(res.Rejected["name is too long"], i)
			continue
		}
		if prev, ok := had[phone]; ok && !up.Force {
			if prev != name {
				res.Updated++
				put = append(put, Contact{name, phone})
			}
			continue
		}
		res.Created++
		put = append(put, Contact{name, phone})
	}
	if up.Force {
		res.Deleted = len(old)
	}
	if !up.Force && len(old)+res.Created > MaxContacts {
		return nil, &Refusal{"an address book holds at most " + strconv.Itoa(MaxContacts) + " contacts: upload with force to replace it"}
	}
	all, err := b.store.CountUserContacts(ctx, app, user)
	if err != nil {
		return nil, err
	}
	if grow := res.Created - res.Deleted; grow > 0 && all+grow > MaxPerUser {
		return nil, &Refusal{"a user keeps at most " + strconv.Itoa(MaxPerUser) + " contacts over all devices"}
	}
	return res, b.store.PutContacts(ctx, o, put, remove, up.Force)
}

// Contacts lists a book.
func (b *Book) Contacts(ctx context.Context, app, user int64, udid string) ([]Contact, error) {
	return b.store.Contacts(ctx, Owner{app, user, udid})
}

// ForgetUser implements accounts.UserData.
func (b *Book) ForgetUser(ctx context.Context, app, user int64) error {
	return b.store.DeleteUserContacts(ctx, app, user)
}
