package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"
)

// certs serves the certificate every TLS handshake uses, and swaps it for
// a new one on reload without touching open connections.
type certs struct {
	dataDir, domain string
	mu              sync.Mutex // serialises reloads
	certFile        string
	keyFile         string
	cur             atomic.Pointer[tls.Certificate]
}

// loadTLS loads the configured certificate, or on first start generates a
// self-signed one for the domain into the data dir.
func loadTLS(certFile, keyFile, dataDir, domain string) (*certs, error) {
	c := &certs{dataDir: dataDir, domain: domain}
	if err := c.reload(certFile, keyFile); err != nil {
		return nil, err
	}
	return c, nil
}

// config is the server TLS configuration; its certificate follows reloads.
func (c *certs) config() *tls.Config {
	return &tls.Config{MinVersion: tls.VersionTLS12, GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) {
		return c.cur.Load(), nil
	}}
}

// reload reads certFile and keyFile (the data dir's self-signed pair when
// both are empty) and serves them from the next handshake on. On error the
// certificate in use stays.
func (c *certs) reload(certFile, keyFile string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if (certFile == "") != (keyFile == "") {
		return errors.New("--tls-cert and --tls-key go together: give both or neither")
	}
	if certFile == "" {
		certFile, keyFile = filepath.Join(c.dataDir, "tls.crt"), filepath.Join(c.dataDir, "tls.key")
		if _, err := os.Stat(certFile); errors.Is(err, os.ErrNotExist) {
			if err := selfSigned(certFile, keyFile, c.domain); err != nil {
				return err
			}
		}
	}
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return err
	}
	c.certFile, c.keyFile = certFile, keyFile
	c.cur.Store(&cert)
	return nil
}

// describe names the certificate in use for a log line.
func (c *certs) describe() string {
	cert := c.cur.Load()
	if cert == nil || len(cert.Certificate) == 0 {
		return "none"
	}
	x, err := x509.ParseCertificate(cert.Certificate[0])
	if err != nil {
		return c.certFile
	}
	return fmt.Sprintf("%s (subject %s, serial %s, valid until %s)", c.certFile, x.Subject.CommonName, x.SerialNumber, x.NotAfter.UTC().Format(time.RFC3339))
}

func selfSigned(certFile, keyFile, domain string) error {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	serial, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: domain, Organization: []string{"Parley self-signed"}},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().AddDate(5, 0, 0),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames:     []string{domain, "*." + domain, "localhost"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return err
	}
	kb, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return err
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600); err != nil {
		return err
	}
	return os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
}
