package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/parley-chat/parley/xmpp"
)

// adminClient talks to a running node's admin API.
type adminClient struct {
	server, token, data string
	json                bool
}

func (c *adminClient) flags(cmd *cobra.Command) {
	cmd.PersistentFlags().StringVar(&c.server, "server", "http://127.0.0.1:8081", "admin API of the node")
	cmd.PersistentFlags().StringVar(&c.token, "admin-token", "", "admin token (default: $PARLEY_ADMIN_TOKEN, then <data>/admin-token)")
	cmd.PersistentFlags().StringVar(&c.data, "data", "./data", "data directory holding admin-token")
	cmd.PersistentFlags().BoolVar(&c.json, "json", false, "print JSON")
}

func (c *adminClient) resolveToken() (string, error) {
	if c.token != "" {
		return c.token, nil
	}
	if t := os.Getenv("PARLEY_ADMIN_TOKEN"); t != "" {
		return t, nil
	}
	b, err := os.ReadFile(filepath.Join(c.data, "admin-token"))
	if err != nil {
		return "", fmt.Errorf("no admin token: pass --admin-token, set PARLEY_ADMIN_TOKEN or point --data at the node's data dir (%w)", err)
	}
	return strings.TrimSpace(string(b)), nil
}

func (c *adminClient) do(method, path string, body, out any) error {
	token, err := c.resolveToken()
	if err != nil {
		return err
	}
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, strings.TrimSuffix(c.server, "/")+path, rd)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := (&http.Client{Timeout: 15 * time.Second}).Do(req)
	if err != nil {
		return fmt.Errorf("admin API at %s: %w", c.server, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("admin API: %s: %s", resp.Status, strings.TrimSpace(string(b)))
	}
	if out != nil {
		return json.Unmarshal(b, out)
	}
	return nil
}

func (c *adminClient) print(v any, table func(w io.Writer)) {
	if c.json {
		enc := json.NewEncoder(os.Stdout)
		enc.SetIndent("", "  ")
		enc.Encode(v)
		return
	}
	tw := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
	table(tw)
	tw.Flush()
}

type appRow struct {
	ID               int64    `json:"id"`
	Name             string   `json:"name"`
	AuthKey          string   `json:"auth_key,omitempty"` // only from create and key rotate
	AutoCreateUsers  bool     `json:"auto_create_users"`
	ShowContacts     bool     `json:"show_contacts"`
	ArchiveAll       bool     `json:"archive_all"`
	DialogExtensions []string `json:"dialog_extensions,omitempty"`
	CreatedAt        string   `json:"created_at"`
}

func appCmd() *cobra.Command {
	var c adminClient
	cmd := &cobra.Command{Use: "app", Short: "Manage applications (tenants) on a running node"}
	c.flags(cmd)
	var name, dialogTypes string
	var autoCreate, showContacts, archiveAll, guests bool
	var extensions []string
	create := &cobra.Command{
		Use:   "create",
		Short: "Create an application",
		RunE: func(*cobra.Command, []string) error {
			if name == "" {
				return errors.New("--name is required")
			}
			var out struct {
				App appRow `json:"app"`
			}
			if err := c.do("POST", "/api/apps", map[string]any{"name": name, "auto_create_users": autoCreate, "show_contacts": showContacts, "archive_all": archiveAll, "dialog_extensions": extensions, "dialog_types": dialogTypes, "guests": guests}, &out); err != nil {
				return err
			}
			c.print(out.App, func(w io.Writer) {
				fmt.Fprintf(w, "ID\tNAME\tAUTH KEY\n%d\t%s\t%s\n", out.App.ID, out.App.Name, out.App.AuthKey)
			})
			return nil
		},
	}
	create.Flags().StringVar(&name, "name", "", "application name")
	create.Flags().BoolVar(&guests, "guests", false, "allow guest sessions (createSession({guest: 1, full_name})): users marked as guests, removed after --guest-idle")
	create.Flags().BoolVar(&autoCreate, "auto-create-users", false, "let POST /session.json create unknown users on the fly")
	create.Flags().BoolVar(&showContacts, "show-contacts", false, "let users see each other's email and phone (app sessions never do)")
	create.Flags().BoolVar(&archiveAll, "archive-all", false, "archive every chat and groupchat message, as XEP-0313 (MAM) clients expect (default: only messages sent with save_to_history=1, as ConnectyCube does)")
	create.Flags().StringSliceVar(&extensions, "dialog-extensions", nil, "dialog custom field names the app accepts (default: any)")
	create.Flags().StringVar(&dialogTypes, "dialog-types", "sdk", "how the app numbers dialog types: sdk (the connectycube SDK's enum: 1 public, 4 broadcast) or docs (ConnectyCube's documentation: 1 broadcast, 4 public)")
	list := &cobra.Command{
		Use:   "list",
		Short: "List applications",
		RunE: func(*cobra.Command, []string) error {
			var out struct {
				Items []appRow `json:"items"`
			}
			if err := c.do("GET", "/api/apps", nil, &out); err != nil {
				return err
			}
			c.print(out.Items, func(w io.Writer) {
				fmt.Fprintln(w, "ID\tNAME\tARCHIVE\tCREATED")
				for _, a := range out.Items {
					archive := "save_to_history"
					if a.ArchiveAll {
						archive = "all"
					}
					fmt.Fprintf(w, "%d\t%s\t%s\t%s\n", a.ID, a.Name, archive, a.CreatedAt)
				}
			})
			return nil
		},
	}
	cmd.AddCommand(create, list, appKeyCmd(&c))
	return cmd
}

// appKeyCmd is "parley app key rotate": auth keys are stored hashed, so a
// lost key is replaced, not shown again.
func appKeyCmd(c *adminClient) *cobra.Command {
	var app int64
	key := &cobra.Command{Use: "key", Short: "Manage an application's auth key"}
	rotate := &cobra.Command{
		Use:   "rotate",
		Short: "Give an application a new auth key and print it (the old key stops working; the new one is shown only now)",
		RunE: func(*cobra.Command, []string) error {
			if app == 0 {
				return errors.New("--app is required")
			}
			var out struct {
				App appRow `json:"app"`
			}
			if err := c.do("POST", fmt.Sprintf("/api/apps/%d/auth_key", app), nil, &out); err != nil {
				return err
			}
			c.print(out.App, func(w io.Writer) {
				fmt.Fprintf(w, "ID\tNAME\tAUTH KEY\n%d\t%s\t%s\n", out.App.ID, out.App.Name, out.App.AuthKey)
			})
			return nil
		},
	}
	rotate.Flags().Int64Var(&app, "app", 0, "application id")
	key.AddCommand(rotate)
	return key
}

type userRow struct {
	ID       int64   `json:"id"`
	Login    *string `json:"login"`
	Email    *string `json:"email"`
	FullName string  `json:"full_name"`
	Created  string  `json:"created_at"`
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func userCmd() *cobra.Command {
	var c adminClient
	var app, id int64
	var login, email, fullName, password string
	cmd := &cobra.Command{Use: "user", Short: "Manage users of an application on a running node"}
	c.flags(cmd)
	cmd.PersistentFlags().Int64Var(&app, "app", 1, "application id")
	add := &cobra.Command{
		Use:   "add",
		Short: "Create a user",
		RunE: func(*cobra.Command, []string) error {
			body := map[string]any{"password": password}
			if login != "" {
				body["login"] = login
			}
			if email != "" {
				body["email"] = email
			}
			if fullName != "" {
				body["full_name"] = fullName
			}
			var out struct {
				User userRow `json:"user"`
			}
			if err := c.do("POST", fmt.Sprintf("/api/apps/%d/users", app), body, &out); err != nil {
				return err
			}
			c.print(out.User, func(w io.Writer) {
				fmt.Fprintf(w, "ID\tLOGIN\tJID LOCAL PART\n%d\t%s\t%d-%d\n", out.User.ID, deref(out.User.Login), out.User.ID, app)
			})
			return nil
		},
	}
	add.Flags().StringVar(&login, "login", "", "login")
	add.Flags().StringVar(&email, "email", "", "email")
	add.Flags().StringVar(&fullName, "full-name", "", "full name")
	add.Flags().StringVar(&password, "password", "", "password (at least 8 characters)")
	list := &cobra.Command{
		Use:   "list",
		Short: "List users",
		RunE: func(*cobra.Command, []string) error {
			var out struct {
				Total int       `json:"total_entries"`
				Items []userRow `json:"items"`
			}
			if err := c.do("GET", fmt.Sprintf("/api/apps/%d/users", app), nil, &out); err != nil {
				return err
			}
			c.print(out.Items, func(w io.Writer) {
				fmt.Fprintln(w, "ID\tLOGIN\tEMAIL\tFULL NAME\tCREATED")
				for _, u := range out.Items {
					fmt.Fprintf(w, "%d\t%s\t%s\t%s\t%s\n", u.ID, deref(u.Login), deref(u.Email), u.FullName, u.Created)
				}
			})
			return nil
		},
	}
	passwd := &cobra.Command{
		Use:   "passwd",
		Short: "Set a user's password",
		RunE: func(*cobra.Command, []string) error {
			if id == 0 || password == "" {
				return errors.New("--id and --password are required")
			}
			return c.do("PUT", fmt.Sprintf("/api/apps/%d/users/%d/password", app, id), map[string]string{"password": password}, nil)
		},
	}
	passwd.Flags().Int64Var(&id, "id", 0, "user id")
	passwd.Flags().StringVar(&password, "password", "", "new password")
	del := &cobra.Command{
		Use:   "delete",
		Short: "Delete a user",
		RunE: func(*cobra.Command, []string) error {
			if id == 0 {
				return errors.New("--id is required")
			}
			return c.do("DELETE", fmt.Sprintf("/api/apps/%d/users/%d", app, id), nil, nil)
		},
	}
	del.Flags().Int64Var(&id, "id", 0, "user id")
	kick := &cobra.Command{
		Use:   "kick",
		Short: "End every session of a user, on every node",
		RunE: func(*cobra.Command, []string) error {
			if id == 0 {
				return errors.New("--id is required")
			}
			return c.do("DELETE", fmt.Sprintf("/api/apps/%d/users/%d/sessions", app, id), nil, nil)
		},
	}
	kick.Flags().Int64Var(&id, "id", 0, "user id")
	cmd.AddCommand(add, list, passwd, del, kick)
	return cmd
}

func versionCmd() *cobra.Command {
	var c adminClient
	var remote bool
	cmd := &cobra.Command{
		Use:   "version",
		Short: "Print the version (with --remote, also the running node's)",
		RunE: func(*cobra.Command, []string) error {
			out := map[string]any{"client": xmpp.Version}
			if remote {
				var srv map[string]any
				if err := c.do("GET", "/api/version", nil, &srv); err != nil {
					return err
				}
				out["server"] = srv
			}
			c.print(out, func(w io.Writer) {
				fmt.Fprintf(w, "client\t%s\n", xmpp.Version)
				if s, ok := out["server"].(map[string]any); ok {
					fmt.Fprintf(w, "server\t%v\nsessions\t%v\n", s["version"], s["sessions"])
				}
			})
			return nil
		},
	}
	c.flags(cmd)
	cmd.Flags().BoolVar(&remote, "remote", false, "also ask the node at --server")
	return cmd
}

func dialogCmd() *cobra.Command {
	var c adminClient
	var app, owner int64
	var name string
	cmd := &cobra.Command{Use: "dialog", Short: "Operator dialog commands on a running node"}
	c.flags(cmd)
	bc := &cobra.Command{
		Use:   "broadcast",
		Short: "Create a broadcast dialog: it reaches every user of the app; the owner posts",
		RunE: func(*cobra.Command, []string) error {
			if owner == 0 || name == "" {
				return errors.New("--owner and --name are required")
			}
			var out struct {
				Dialog map[string]any `json:"dialog"`
			}
			if err := c.do("POST", fmt.Sprintf("/api/apps/%d/broadcasts", app), map[string]any{"name": name, "owner_id": owner}, &out); err != nil {
				return err
			}
			c.print(out.Dialog, func(w io.Writer) {
				fmt.Fprintf(w, "ID\tNAME\tOWNER\n%v\t%v\t%v\n", out.Dialog["_id"], out.Dialog["name"], out.Dialog["user_id"])
			})
			return nil
		},
	}
	bc.Flags().Int64Var(&app, "app", 1, "application id")
	bc.Flags().Int64Var(&owner, "owner", 0, "user id of the owner (who posts)")
	bc.Flags().StringVar(&name, "name", "", "dialog name")
	cmd.AddCommand(bc)
	return cmd
}

func clusterCmd() *cobra.Command {
	var c adminClient
	cmd := &cobra.Command{Use: "cluster", Short: "Cluster commands on a running node"}
	c.flags(cmd)
	status := &cobra.Command{
		Use:   "status",
		Short: "List live nodes and their session counts",
		RunE: func(*cobra.Command, []string) error {
			var out struct {
				Mode  string `json:"mode"`
				Nodes []struct {
					Node     string `json:"node"`
					Sessions int    `json:"sessions"`
				} `json:"nodes"`
			}
			if err := c.do("GET", "/api/cluster", nil, &out); err != nil {
				return err
			}
			c.print(out, func(w io.Writer) {
				fmt.Fprintf(w, "MODE\t%s\nNODE\tSESSIONS\n", out.Mode)
				for _, n := range out.Nodes {
					fmt.Fprintf(w, "%s\t%d\n", n.Node, n.Sessions)
				}
			})
			return nil
		},
	}
	cmd.AddCommand(status)
	return cmd
}
