package accounts

import (
	"crypto/hmac"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/subtle"
	"hash"
	"sync/atomic"
	"time"
)

// DefaultIterations is the PBKDF2 iteration count for new credentials
// (RFC 7677 recommends at least 4096).
const DefaultIterations = 4096

// KeyPair is what SCRAM needs to verify a client and prove itself:
// StoredKey = H(HMAC(SaltedPassword, "Client Key")) and
// ServerKey = HMAC(SaltedPassword, "Server Key"). Neither lets anyone log in.
type KeyPair struct {
	Stored []byte
	Server []byte
	// Session and Expires name the session token a pair belongs to (zero
	// for the password), so a stream knows what revokes it.
	Session int64
	Expires time.Time
}

// ScramKeys holds the key pairs for the two hash functions Parley offers.
type ScramKeys struct {
	SHA1   KeyPair
	SHA256 KeyPair
}

// Pair returns the key pair for a SASL mechanism name, or false.
func (k ScramKeys) Pair(mechanism string) (KeyPair, bool) {
	switch mechanism {
	case "SCRAM-SHA-1":
		return k.SHA1, len(k.SHA1.Stored) > 0
	case "SCRAM-SHA-256":
		return k.SHA256, len(k.SHA256.Stored) > 0
	}
	return KeyPair{}, false
}

// Credentials are a user's stored secret: a salt, an iteration count and the
// SCRAM keys of the password. The plaintext password is never kept.
type Credentials struct {
	Salt []byte
	Iter int
	Keys ScramKeys
}

// saltLen is the size of a user's salt.
const saltLen = 16

// NewCredentials salts and derives keys for password with a fresh salt.
func NewCredentials(password string, iter int) Credentials {
	salt := make([]byte, saltLen)
	rand.Read(salt)
	return Credentials{Salt: salt, Iter: iter, Keys: DeriveKeys(password, salt, iter)}
}

// DeriveKeys computes the SCRAM key pairs of secret under salt and iter.
func DeriveKeys(secret string, salt []byte, iter int) ScramKeys {
	return ScramKeys{
		SHA1:   derivePair(sha1.New, secret, salt, iter),
		SHA256: derivePair(sha256.New, secret, salt, iter),
	}
}

func derivePair(h func() hash.Hash, secret string, salt []byte, iter int) KeyPair {
	salted := SaltedPassword(h, secret, salt, iter)
	return KeyPair{Stored: StoredKey(h, ClientKey(h, salted)), Server: hmacSum(h, salted, "Server Key")}
}

// pbkdf2Runs counts SaltedPassword calls (tests check that an unknown user
// costs the same derivations as a wrong password).
var pbkdf2Runs atomic.Int64

// SaltedPassword is Hi(password, salt, i) of RFC 5802.
func SaltedPassword(h func() hash.Hash, secret string, salt []byte, iter int) []byte {
	pbkdf2Runs.Add(1)
	k, err := pbkdf2.Key(h, secret, salt, iter, h().Size())
	if err != nil {
		// Only reachable in FIPS-140 only mode with a too short key.
		panic("accounts: pbkdf2: " + err.Error())
	}
	return k
}

// ClientKey is HMAC(SaltedPassword, "Client Key").
func ClientKey(h func() hash.Hash, salted []byte) []byte { return hmacSum(h, salted, "Client Key") }

// StoredKey is H(ClientKey).
func StoredKey(h func() hash.Hash, clientKey []byte) []byte {
	d := h()
	d.Write(clientKey)
	return d.Sum(nil)
}

func hmacSum(h func() hash.Hash, key []byte, msg string) []byte {
	m := hmac.New(h, key)
	m.Write([]byte(msg))
	return m.Sum(nil)
}

// VerifyPassword reports whether password matches these credentials. It runs
// one PBKDF2 (SHA-256) and compares in constant time.
func (c Credentials) VerifyPassword(password string) bool {
	if len(c.Keys.SHA256.Stored) == 0 {
		return false
	}
	salted := SaltedPassword(sha256.New, password, c.Salt, c.Iter)
	got := StoredKey(sha256.New, ClientKey(sha256.New, salted))
	return subtle.ConstantTimeCompare(got, c.Keys.SHA256.Stored) == 1
}
