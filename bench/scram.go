package bench

import (
	"crypto/hmac"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"hash"
	"strconv"
	"strings"
	"sync"
)

// The load tool's SCRAM client (RFC 5802) differs from mellium's in one
// way that matters for a benchmark: it keeps each user's SaltedPassword,
// as RFC 5802 §5.1 allows and mobile clients do, so a repeated login costs
// the client a few HMACs instead of 4,096 PBKDF2 rounds, and logins/s
// measures the server rather than the load tool sharing its cores.
var saltedCache sync.Map // mechanism, user, password, salt, iterations -> SaltedPassword

type scram struct {
	mech       string
	h          func() hash.Hash
	user, pass string
	nonce      string
	bare       string // client-first-message-bare
	serverSig  []byte
}

func newScram(mech, user, pass string) *scram {
	s := &scram{mech: mech, user: user, pass: pass, h: sha1.New}
	if mech == "SCRAM-SHA-256" {
		s.h = sha256.New
	}
	b := make([]byte, 18)
	rand.Read(b)
	s.nonce = base64.RawStdEncoding.EncodeToString(b)
	name := strings.NewReplacer("=", "=3D", ",", "=2C").Replace(user)
	s.bare = "n=" + name + ",r=" + s.nonce
	return s
}

// first is the client-first-message.
func (s *scram) first() []byte { return []byte("n,," + s.bare) }

func (s *scram) mac(key []byte, msg string) []byte {
	m := hmac.New(s.h, key)
	m.Write([]byte(msg))
	return m.Sum(nil)
}

// final answers the server-first-message with the client proof.
func (s *scram) final(serverFirst []byte) ([]byte, error) {
	var nonce, salt string
	iter := 0
	for _, f := range strings.Split(string(serverFirst), ",") {
		k, v, _ := strings.Cut(f, "=")
		switch k {
		case "r":
			nonce = v
		case "s":
			salt = v
		case "i":
			iter, _ = strconv.Atoi(v)
		}
	}
	if !strings.HasPrefix(nonce, s.nonce) || salt == "" || iter < 1 || iter > 1_000_000 {
		return nil, fmt.Errorf("bench: bad SCRAM challenge %q", serverFirst)
	}
	key := s.mech + "\x00" + s.user + "\x00" + s.pass + "\x00" + salt + "\x00" + strconv.Itoa(iter)
	var salted []byte
	if v, ok := saltedCache.Load(key); ok {
		salted = v.([]byte)
	} else {
		raw, err := base64.StdEncoding.DecodeString(salt)
		if err != nil {
			return nil, err
		}
		if salted, err = pbkdf2.Key(s.h, s.pass, raw, iter, s.h().Size()); err != nil {
			return nil, err
		}
		saltedCache.Store(key, salted)
	}
	clientKey := s.mac(salted, "Client Key")
	h := s.h()
	h.Write(clientKey)
	stored := h.Sum(nil)
	withoutProof := "c=" + base64.StdEncoding.EncodeToString([]byte("n,,")) + ",r=" + nonce
	authMsg := s.bare + "," + string(serverFirst) + "," + withoutProof
	proof := s.mac(stored, authMsg)
	subtle.XORBytes(proof, proof, clientKey)
	s.serverSig = s.mac(s.mac(salted, "Server Key"), authMsg)
	return []byte(withoutProof + ",p=" + base64.StdEncoding.EncodeToString(proof)), nil
}

// verify checks the server's signature in its final message.
func (s *scram) verify(serverFinal []byte) error {
	v, ok := strings.CutPrefix(string(serverFinal), "v=")
	if !ok {
		return fmt.Errorf("bench: SCRAM server final %q", serverFinal)
	}
	sig, err := base64.StdEncoding.DecodeString(v)
	if err != nil || !hmac.Equal(sig, s.serverSig) {
		return errors.New("bench: the server's SCRAM signature does not verify")
	}
	return nil
}
