package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"github.com/spf13/pflag"

	"github.com/parley-chat/parley/accounts"
	"github.com/parley-chat/parley/history"
	"github.com/parley-chat/parley/httpapi"
	"github.com/parley-chat/parley/rosters"
	"github.com/parley-chat/parley/storage/sqlite"
)

// runAdmin runs "parley <args>" against srv and returns what it printed.
func runAdmin(t *testing.T, srv string, args ...string) string {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout := os.Stdout
	os.Stdout = w
	defer func() { os.Stdout = stdout }()
	done := make(chan string)
	go func() {
		b, _ := io.ReadAll(r)
		done <- string(b)
	}()
	cmd := appCmd()
	cmd.SetArgs(append(args, "--server", srv, "--admin-token", "secret-token"))
	err = cmd.Execute()
	w.Close()
	out := <-done
	if err != nil {
		t.Fatalf("parley app %v: %v", args, err)
	}
	return out
}

// TestAppArchiveAll: "parley app create --archive-all" makes an app that
// archives every message; "app list" shows each app's archiving policy.
func TestAppArchiveAll(t *testing.T) {
	db, err := sqlite.Open(context.Background(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	acc := accounts.NewService(db)
	srv := httptest.NewServer((&httpapi.Admin{Accounts: acc, Token: "secret-token", Metrics: http.NotFoundHandler()}).Handler())
	defer srv.Close()

	runAdmin(t, srv.URL, "create", "--name", "cc")
	var created appRow
	if err := json.Unmarshal([]byte(runAdmin(t, srv.URL, "create", "--name", "mam", "--archive-all", "--json")), &created); err != nil || !created.ArchiveAll {
		t.Fatalf("created %+v %v", created, err)
	}
	apps, err := acc.Apps(context.Background())
	if err != nil || len(apps) != 2 || apps[0].ArchiveAll || !apps[1].ArchiveAll {
		t.Fatalf("stored apps %+v %v", apps, err)
	}
	lines := strings.Split(strings.TrimSpace(runAdmin(t, srv.URL, "list")), "\n")
	if len(lines) != 3 || !strings.Contains(lines[0], "ARCHIVE") ||
		!strings.Contains(lines[1], "cc") || !strings.Contains(lines[1], "save_to_history") ||
		!strings.Contains(lines[2], "mam") || !strings.Contains(lines[2], " all ") {
		t.Fatalf("app list:\n%s", strings.Join(lines, "\n"))
	}
}

// TestMAMLimitFlags: the archive's limits are serve settings with
// history's defaults.
func TestMAMLimitFlags(t *testing.T) {
	var l limitOptions
	fs := pflag.NewFlagSet("limits", pflag.ContinueOnError)
	l.register(fs)
	if l.mam != history.DefaultMAMLimits() {
		t.Fatalf("defaults %+v", l.mam)
	}
	if err := fs.Parse([]string{"--mam-max-page", "20", "--mam-max-ids", "5", "--mam-prefs-jids", "7"}); err != nil {
		t.Fatal(err)
	}
	if l.mam != (history.MAMLimits{MaxPage: 20, MaxIDs: 5, MaxPrefsJIDs: 7}) {
		t.Fatalf("parsed %+v", l.mam)
	}
}

// TestRosterLimitFlags: the roster caps are serve settings with rosters'
// defaults.
func TestRosterLimitFlags(t *testing.T) {
	var l limitOptions
	fs := pflag.NewFlagSet("limits", pflag.ContinueOnError)
	l.register(fs)
	if l.rosters != rosters.DefaultLimits() {
		t.Fatalf("defaults %+v", l.rosters)
	}
	if err := fs.Parse([]string{"--roster-items", "5", "--roster-pending-requests", "2"}); err != nil {
		t.Fatal(err)
	}
	if l.rosters.MaxItems != 5 || l.rosters.MaxPending != 2 {
		t.Fatalf("parsed %+v", l.rosters)
	}
}
