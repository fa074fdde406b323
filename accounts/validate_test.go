package accounts_test

import (
	"context"
	"errors"
	"testing"

	"github.com/parley-chat/parley/accounts"
	"github.com/parley-chat/parley/storage/sqlite"
)

// newService is an accounts service on a fresh SQLite store, with one app.
func newService(t *testing.T) (*accounts.Service, *accounts.App) {
	t.Helper()
	db, err := sqlite.Open(context.Background(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	svc := accounts.NewService(db)
	svc.Iterations = 1000
	app, err := svc.CreateApp(context.Background(), "t", accounts.AppOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return svc, app
}

func TestUserFieldsRefuseControlCharacters(t *testing.T) {
	svc, app := newService(t)
	ctx := context.Background()
	str := func(s string) *string { return &s }
	pw := str("password-1")
	cases := []struct {
		name  string
		in    accounts.UserInput
		field string // "" when accepted
	}{
		{"NUL in login", accounts.UserInput{Login: str("ali\x00ce")}, "login"},
		{"escape in login", accounts.UserInput{Login: str("ali\x1b[31mce")}, "login"},
		{"newline in login", accounts.UserInput{Login: str("alice\nadmin")}, "login"},
		{"C1 in login", accounts.UserInput{Login: str("ali\u0085ce")}, "login"},
		{"DEL in full name", accounts.UserInput{Login: str("bob01"), FullName: str("Bob\x7f")}, "full_name"},
		{"U+FFFE in full name", accounts.UserInput{Login: str("bob02"), FullName: str("Bob\ufffe")}, "full_name"},
		{"U+FFFF in email", accounts.UserInput{Email: str("x\uffff@example.com")}, "email"},
		{"tab in phone", accounts.UserInput{Login: str("bob03"), Phone: str("+1\t555")}, "phone"},
		{"BEL in website", accounts.UserInput{Login: str("bob04"), Website: str("http://x\a")}, "website"},
		{"control in external id", accounts.UserInput{Login: str("bob05"), ExternalID: str("e\x01")}, "external_user_id"},
		{"control in a tag", accounts.UserInput{Login: str("bob06"), Tags: []string{"ok", "b\x02d"}}, "tag_list"},
		{"NUL in custom data", accounts.UserInput{Login: str("bob07"), CustomData: str("{\"a\":\"\x00\"}")}, "custom_data"},
		{"pretty JSON in custom data", accounts.UserInput{Login: str("bob08"), CustomData: str("{\n\t\"a\": 1\r\n}")}, ""},
		{"non-Latin text", accounts.UserInput{Login: str("Łukasz"), FullName: str("Łukasz 😀 Żółć")}, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tc.in.Password = pw
			_, err := svc.CreateUser(ctx, app.ID, tc.in)
			var v accounts.ValidationError
			if tc.field == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			if !errors.As(err, &v) || len(v[tc.field]) == 0 {
				t.Fatalf("want a validation error on %s, got %v", tc.field, err)
			}
		})
	}
	// Updates are held to the same rule.
	u, err := svc.CreateUser(ctx, app.ID, accounts.UserInput{Login: str("carol"), Password: pw})
	if err != nil {
		t.Fatal(err)
	}
	_, err = svc.UpdateUser(ctx, app.ID, u.ID, accounts.UserInput{FullName: str("Carol\x00")}, false)
	var v accounts.ValidationError
	if !errors.As(err, &v) || len(v["full_name"]) == 0 {
		t.Fatalf("update with a control character: %v", err)
	}
}
