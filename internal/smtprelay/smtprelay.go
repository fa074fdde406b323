// Package smtprelay sends mail through the SMTP relay an install names
// (--smtp-*): STARTTLS when the relay offers it (required with credentials
// unless the relay is on loopback), or implicit TLS.
package smtprelay

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/smtp"
	"strings"
	"time"
)

// Relay is an SMTP relay.
type Relay struct {
	Addr     string // host:port
	From     string
	User     string
	Password string
	// ImplicitTLS speaks TLS from the first byte (port 465).
	ImplicitTLS bool
}

// Send sends a plain-text message.
func (r *Relay) Send(ctx context.Context, to, subject, body string) error {
	if strings.ContainsAny(to+subject+r.From, "\r\n") {
		return errors.New("smtp: header values must not hold line breaks")
	}
	host, _, err := net.SplitHostPort(r.Addr)
	if err != nil {
		return err
	}
	d := net.Dialer{Timeout: 10 * time.Second}
	var conn net.Conn
	if r.ImplicitTLS {
		conn, err = tls.DialWithDialer(&d, "tcp", r.Addr, &tls.Config{ServerName: host})
	} else {
		conn, err = d.DialContext(ctx, "tcp", r.Addr)
	}
	if err != nil {
		return fmt.Errorf("smtp: %w", err)
	}
	deadline, ok := ctx.Deadline()
	if !ok {
		deadline = time.Now().Add(30 * time.Second)
	}
	conn.SetDeadline(deadline)
	c, err := smtp.NewClient(conn, host)
	if err != nil {
		conn.Close()
		return fmt.Errorf("smtp: %w", err)
	}
	defer c.Close()
	if ok, _ := c.Extension("STARTTLS"); ok && !r.ImplicitTLS {
		if err := c.StartTLS(&tls.Config{ServerName: host}); err != nil {
			return fmt.Errorf("smtp: starttls: %w", err)
		}
	}
	if r.User != "" {
		// net/smtp's PlainAuth refuses to send credentials in clear except
		// to localhost.
		if err := c.Auth(smtp.PlainAuth("", r.User, r.Password, host)); err != nil {
			return fmt.Errorf("smtp: auth: %w", err)
		}
	}
	if err := c.Mail(r.From); err != nil {
		return fmt.Errorf("smtp: %w", err)
	}
	if err := c.Rcpt(to); err != nil {
		return fmt.Errorf("smtp: %w", err)
	}
	w, err := c.Data()
	if err != nil {
		return fmt.Errorf("smtp: %w", err)
	}
	msg := "From: " + r.From + "\r\nTo: " + to + "\r\nSubject: " + subject +
		"\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nDate: " + time.Now().UTC().Format(time.RFC1123Z) + "\r\n\r\n" +
		strings.ReplaceAll(body, "\n", "\r\n")
	if _, err := w.Write([]byte(msg)); err != nil {
		return fmt.Errorf("smtp: %w", err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("smtp: %w", err)
	}
	return c.Quit()
}
