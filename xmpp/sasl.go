package xmpp

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"hash"
	"net/netip"
	"strconv"
	"time"

	"mellium.im/sasl"

	"github.com/parley-chat/parley/accounts"
)

// Authenticator checks XMPP credentials. The secret may be the user's
// password or one of the user's live session tokens.
type Authenticator interface {
	CheckPassword(ctx context.Context, appID, userID int64, secret string) error
	// TokenSession names the session token secret is (ok false for the
	// password), so the stream ends when the token does.
	TokenSession(ctx context.Context, appID, userID int64, secret string) (id int64, expires time.Time, ok bool)
	// ScramSecrets returns the salt, the iteration count and every key pair
	// that may sign in under the SCRAM mechanism named.
	ScramSecrets(ctx context.Context, appID, userID int64, mechanism string) (salt []byte, iter int, pairs []accounts.KeyPair, err error)
}

// mechanisms offered, strongest first. Never ANONYMOUS, never -PLUS: channel
// binding is not implemented and mellium's -PLUS server panics.
var mechanismNames = []string{"SCRAM-SHA-256", "SCRAM-SHA-1", "PLAIN"}

// authResult is filled by a mechanism when a user is authenticated.
type authResult struct {
	appID, userID int64
	guard         *accounts.LoginGuard // nil: no per-account limit
	ip            netip.Addr
	limited       time.Duration // refused by the guard: retry after this
	session       int64         // the session token signed in with; 0: password
	expires       time.Time     // the token's expiry
}

var errAuth = errors.New("xmpp: not authorized")

// newMechanism returns a server-side mellium sasl.Mechanism for name whose
// credential checks go to auth and whose outcome lands in res.
func newMechanism(ctx context.Context, name string, auth Authenticator, res *authResult) (sasl.Mechanism, bool) {
	switch name {
	case "PLAIN":
		return sasl.Plain, true
	case "SCRAM-SHA-1":
		return scramServer(ctx, name, sha1.New, auth, res), true
	case "SCRAM-SHA-256":
		return scramServer(ctx, name, sha256.New, auth, res), true
	}
	return sasl.Mechanism{}, false
}

// plainPermissions verifies a PLAIN exchange through auth.
func plainPermissions(ctx context.Context, auth Authenticator, res *authResult) func(*sasl.Negotiator) bool {
	return func(n *sasl.Negotiator) bool {
		user, pass, authz := n.Credentials()
		userID, appID, err := accounts.ParseJIDLocal(string(user))
		if err != nil {
			return false
		}
		if len(authz) > 0 && !authzMatches(string(authz), string(user)) {
			return false
		}
		if !res.allow(appID, userID) {
			return false
		}
		if auth.CheckPassword(ctx, appID, userID, string(pass)) != nil {
			res.failed(appID, userID)
			return false
		}
		res.succeeded(appID, userID)
		res.appID, res.userID = appID, userID
		res.session, res.expires, _ = auth.TokenSession(ctx, appID, userID, string(pass))
		return true
	}
}

// allow asks the login guard before credentials are checked.
func (r *authResult) allow(appID, userID int64) bool {
	if r.guard == nil {
		return true
	}
	ok, retry := r.guard.Allow(accounts.AccountByID(appID, userID), r.ip)
	if !ok {
		r.limited = retry
	}
	return ok
}

func (r *authResult) failed(appID, userID int64) {
	if r.guard != nil {
		r.guard.Failed(accounts.AccountByID(appID, userID), r.ip)
	}
}

func (r *authResult) succeeded(appID, userID int64) {
	if r.guard != nil {
		r.guard.Succeeded(accounts.AccountByID(appID, userID), r.ip)
	}
}

// authzMatches accepts an authorization identity that names the
// authenticated user itself ("5-1" or "5-1@domain").
func authzMatches(authz, user string) bool {
	if authz == user {
		return true
	}
	return len(authz) > len(user) && authz[:len(user)] == user && authz[len(user)] == '@'
}

type scramState struct {
	gs2Header   []byte
	clientBare  []byte
	serverFirst []byte
	nonce       []byte
	pairs       []accounts.KeyPair
	appID       int64
	userID      int64
}

// scramServer implements the server side of RFC 5802 against stored keys.
// mellium's own SCRAM server needs the salted password, which Parley never
// stores, and can check only one secret; a user here may sign in with the
// password or any live session token (all derived with the user's salt).
func scramServer(ctx context.Context, name string, h func() hash.Hash, auth Authenticator, res *authResult) sasl.Mechanism {
	return sasl.Mechanism{
		Name: name,
		Start: func(*sasl.Negotiator) (bool, []byte, interface{}, error) {
			return false, nil, nil, errors.New("xmpp: server-side mechanism")
		},
		Next: func(n *sasl.Negotiator, msg []byte, data interface{}) (bool, []byte, interface{}, error) {
			switch n.State() & sasl.StepMask {
			case sasl.AuthTextSent:
				return scramFirst(ctx, name, msg, auth, res)
			case sasl.ResponseSent:
				st, _ := data.(*scramState)
				if st == nil {
					return false, nil, nil, errAuth
				}
				v, pair, err := scramFinal(h, st, msg)
				if err != nil {
					res.failed(st.appID, st.userID)
					return false, nil, nil, err
				}
				res.succeeded(st.appID, st.userID)
				res.appID, res.userID = st.appID, st.userID
				res.session, res.expires = pair.Session, pair.Expires
				return false, v, nil, nil
			}
			return false, nil, nil, errAuth
		},
	}
}

func scramFirst(ctx context.Context, name string, msg []byte, auth Authenticator, res *authResult) (bool, []byte, interface{}, error) {
	// gs2-header: "n,," or "y,,"; "p=" (channel binding) is refused.
	if len(msg) < 3 || (msg[0] != 'n' && msg[0] != 'y') || msg[1] != ',' {
		return false, nil, nil, errAuth
	}
	k := bytes.IndexByte(msg[2:], ',')
	if k < 0 {
		return false, nil, nil, errAuth
	}
	authz := msg[2 : 2+k]
	gs2 := msg[:3+k]
	bare := msg[3+k:]
	var user, cnonce []byte
	for _, f := range bytes.Split(bare, []byte(",")) {
		switch {
		case bytes.HasPrefix(f, []byte("n=")):
			user = f[2:]
		case bytes.HasPrefix(f, []byte("r=")):
			cnonce = f[2:]
		case bytes.HasPrefix(f, []byte("m=")):
			return false, nil, nil, errAuth // mandatory extension we do not know
		}
	}
	if len(user) == 0 || len(cnonce) == 0 || bytes.ContainsAny(user, "=") {
		return false, nil, nil, errAuth
	}
	if len(authz) > 0 {
		if !bytes.HasPrefix(authz, []byte("a=")) || !authzMatches(string(authz[2:]), string(user)) {
			return false, nil, nil, errAuth
		}
	}
	userID, appID, err := accounts.ParseJIDLocal(string(user))
	if err != nil {
		return false, nil, nil, errAuth
	}
	if !res.allow(appID, userID) {
		return false, nil, nil, errAuth
	}
	// For a user that does not exist, accounts answers with a keyed decoy
	// salt and no key pair: the exchange fails at the proof.
	salt, iter, pairs, err := auth.ScramSecrets(ctx, appID, userID, name)
	if err != nil {
		// Answer like for a real user so probing cannot tell users apart;
		// the final step fails.
		salt, iter, pairs = fakeSalt(user), 4096, nil
	}
	snonce := make([]byte, 18)
	rand.Read(snonce)
	nonce := append(append([]byte{}, cnonce...), base64.RawStdEncoding.EncodeToString(snonce)...)
	first := []byte("r=" + string(nonce) + ",s=" + base64.StdEncoding.EncodeToString(salt) + ",i=" + strconv.Itoa(iter))
	st := &scramState{gs2Header: gs2, clientBare: bare, serverFirst: first, nonce: nonce, pairs: pairs, appID: appID, userID: userID}
	return true, first, st, nil
}

func scramFinal(h func() hash.Hash, st *scramState, msg []byte) ([]byte, accounts.KeyPair, error) {
	p := bytes.LastIndex(msg, []byte(",p="))
	if p < 0 {
		return nil, accounts.KeyPair{}, errAuth
	}
	withoutProof := msg[:p]
	proof, err := base64.StdEncoding.DecodeString(string(msg[p+3:]))
	if err != nil {
		return nil, accounts.KeyPair{}, errAuth
	}
	var cbind, nonce []byte
	for _, f := range bytes.Split(withoutProof, []byte(",")) {
		switch {
		case bytes.HasPrefix(f, []byte("c=")):
			cbind = f[2:]
		case bytes.HasPrefix(f, []byte("r=")):
			nonce = f[2:]
		}
	}
	if want := base64.StdEncoding.EncodeToString(st.gs2Header); string(cbind) != want || !bytes.Equal(nonce, st.nonce) {
		return nil, accounts.KeyPair{}, errAuth
	}
	authMsg := make([]byte, 0, len(st.clientBare)+len(st.serverFirst)+len(withoutProof)+2)
	authMsg = append(append(append(append(append(authMsg, st.clientBare...), ','), st.serverFirst...), ','), withoutProof...)
	for _, pair := range st.pairs {
		sig := hmacOf(h, pair.Stored, authMsg)
		if len(sig) != len(proof) {
			continue
		}
		clientKey := make([]byte, len(proof))
		subtle.XORBytes(clientKey, proof, sig)
		d := h()
		d.Write(clientKey)
		if subtle.ConstantTimeCompare(d.Sum(nil), pair.Stored) == 1 {
			return []byte("v=" + base64.StdEncoding.EncodeToString(hmacOf(h, pair.Server, authMsg))), pair, nil
		}
	}
	return nil, accounts.KeyPair{}, errAuth
}

func hmacOf(h func() hash.Hash, key, msg []byte) []byte {
	m := hmac.New(h, key)
	m.Write(msg)
	return m.Sum(nil)
}

// fakeSalt is stable per user name so repeated probes see the same salt.
func fakeSalt(user []byte) []byte {
	s := sha256.Sum256(append([]byte("parley-unknown-user:"), user...))
	return s[:16]
}
