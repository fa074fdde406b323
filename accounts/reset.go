package accounts

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"time"
	"unicode/utf8"

	"github.com/parley-chat/parley/quota"
)

// Password reset by e-mail: a link carries a token naming the user and an
// expiry, signed with a secret of the installation and the user's current
// password keys, so it stops working once used (the keys change) and
// nothing needs storing.

// ResetTTL is how long a reset link works.
const ResetTTL = time.Hour

// eventReset is the event kind of a reset mail sent; resetRate bounds them.
const eventReset = "password.reset"

var resetRate = quota.Rate{Setting: "password resets per hour", N: 3, Per: time.Hour}

func (s *Service) resetMAC(ctx context.Context, app, user int64, exp int64) ([]byte, error) {
	secret, err := s.DerivedSecret(ctx, "password reset")
	if err != nil {
		return nil, err
	}
	c, err := s.store.Credentials(ctx, app, user)
	if err != nil {
		return nil, err
	}
	m := hmac.New(sha256.New, secret)
	var b [24]byte
	binary.BigEndian.PutUint64(b[0:], uint64(app))
	binary.BigEndian.PutUint64(b[8:], uint64(user))
	binary.BigEndian.PutUint64(b[16:], uint64(exp))
	m.Write(b[:])
	m.Write(c.Keys.SHA256.Stored)
	return m.Sum(nil), nil
}

// PasswordResetToken makes a reset token for the user of app with that
// e-mail; ErrNotFound when there is none.
func (s *Service) PasswordResetToken(ctx context.Context, appID int64, email string) (string, *User, error) {
	users, _, err := s.store.Users(ctx, appID, UserQuery{Emails: []string{email}, Limit: 1})
	if err != nil {
		return "", nil, err
	}
	if len(users) == 0 || email == "" {
		return "", nil, ErrNotFound
	}
	u := &users[0]
	// At most resetRate mails to a user: over it, nothing is sent and
	// the answer stays the same (no mail bombs, no account probing).
	now := s.now()
	if quota.Check(ctx, s.store, appID, eventReset, []int64{u.ID}, now, func(int64) string { return "" }, resetRate) != nil {
		return "", nil, ErrNotFound
	}
	if err := quota.Record(ctx, s.store, appID, eventReset, []int64{u.ID}, now, resetRate); err != nil {
		return "", nil, err
	}
	exp := now.Add(ResetTTL).Unix()
	mac, err := s.resetMAC(ctx, appID, u.ID, exp)
	if err != nil {
		return "", nil, err
	}
	var b [24]byte
	binary.BigEndian.PutUint64(b[0:], uint64(appID))
	binary.BigEndian.PutUint64(b[8:], uint64(u.ID))
	binary.BigEndian.PutUint64(b[16:], uint64(exp))
	return base64.RawURLEncoding.EncodeToString(append(b[:], mac...)), u, nil
}

// ResetPassword sets a new password with a reset token and revokes every
// session token of the user; it returns the user, whose streams the caller
// ends.
func (s *Service) ResetPassword(ctx context.Context, token, password string) (*User, error) {
	raw, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil || len(raw) != 24+sha256.Size {
		return nil, ValidationError{"token": {"is not a reset token: use the link from the e-mail"}}
	}
	app, user := int64(binary.BigEndian.Uint64(raw[0:])), int64(binary.BigEndian.Uint64(raw[8:]))
	exp := int64(binary.BigEndian.Uint64(raw[16:]))
	if s.now().Unix() > exp {
		return nil, ValidationError{"token": {"has expired: ask for a new reset e-mail"}}
	}
	mac, err := s.resetMAC(ctx, app, user, exp)
	if err != nil || !hmac.Equal(mac, raw[24:]) {
		return nil, ValidationError{"token": {"is not valid (it may have been used already): ask for a new reset e-mail"}}
	}
	if utf8.RuneCountInString(password) < 8 {
		return nil, ValidationError{"password": {"is too short (minimum is 8 characters)"}}
	}
	u, err := s.store.User(ctx, app, user)
	if err != nil {
		return nil, err
	}
	if err := s.setPassword(ctx, u, password, nil, true); err != nil {
		return nil, err
	}
	if _, err := s.store.DeleteUserSessions(ctx, app, user, 0); err != nil {
		return nil, err
	}
	return u, nil
}
