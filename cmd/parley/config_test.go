package main

import (
	"os"
	"path/filepath"
	"testing"
)

func TestConfigPrecedence(t *testing.T) {
	file := filepath.Join(t.TempDir(), "parley.yaml")
	os.WriteFile(file, []byte("domain: from-file\nc2s-addr: \":6222\"\nws-addr: \":7000\"\nmax-stanza: 1000\n"), 0o600)
	cases := []struct {
		name   string
		args   []string
		env    map[string]string
		domain string
		c2s    string
		ws     string
	}{
		{"file over defaults", nil, nil, "from-file", ":6222", ":7000"},
		{"env over file", nil, map[string]string{"PARLEY_DOMAIN": "from-env", "PARLEY_WS_ADDR": ""}, "from-env", ":6222", ""},
		{"flag over env", []string{"--domain", "from-flag"}, map[string]string{"PARLEY_DOMAIN": "from-env"}, "from-flag", ":6222", ":7000"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			cmd := serveCmd()
			if err := cmd.Flags().Parse(tc.args); err != nil {
				t.Fatal(err)
			}
			if err := applyConfig(cmd.Flags(), file); err != nil {
				t.Fatal(err)
			}
			get := func(n string) string { return cmd.Flags().Lookup(n).Value.String() }
			if get("domain") != tc.domain || get("c2s-addr") != tc.c2s || get("ws-addr") != tc.ws || get("max-stanza") != "1000" {
				t.Fatalf("domain=%s c2s=%s ws=%s max=%s", get("domain"), get("c2s-addr"), get("ws-addr"), get("max-stanza"))
			}
		})
	}
	t.Run("unknown key is an error", func(t *testing.T) {
		bad := filepath.Join(t.TempDir(), "bad.yaml")
		os.WriteFile(bad, []byte("domian: typo\n"), 0o600)
		if err := applyConfig(serveCmd().Flags(), bad); err == nil {
			t.Fatal("a misspelt setting was accepted")
		}
	})
}

func TestDisabledAddresses(t *testing.T) {
	for addr, want := range map[string]bool{"": true, ":0": true, "127.0.0.1:0": true, ":5222": false} {
		if disabled(addr) != want {
			t.Errorf("disabled(%q) = %v", addr, !want)
		}
	}
}
