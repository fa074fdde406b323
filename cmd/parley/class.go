package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"
)

// classCmd is "parley class": custom object classes of an app.
func classCmd() *cobra.Command {
	var c adminClient
	var app int64
	var name, read, update, del string
	var fields []string
	cmd := &cobra.Command{Use: "class", Short: "Manage an application's custom object classes (/data/<Class>.json) on a running node"}
	c.flags(cmd)
	cmd.PersistentFlags().Int64Var(&app, "app", 1, "application id")
	create := &cobra.Command{
		Use:   "create",
		Short: "Create or redefine a class",
		Example: "  parley class create --app 1 --name Task --field title:string --field rating:integer --field tags:array --read open\n" +
			"  (types: string, integer, float, boolean, array, date, location, file; permissions: open or owner)",
		RunE: func(*cobra.Command, []string) error {
			var fs []map[string]string
			for _, f := range fields {
				n, t, ok := strings.Cut(f, ":")
				if !ok {
					return fmt.Errorf("--field %s: write name:type", f)
				}
				fs = append(fs, map[string]string{"name": n, "type": t})
			}
			body := map[string]any{"name": name, "fields": fs, "permissions": map[string]string{"read": read, "update": update, "delete": del}}
			var out struct {
				Class any `json:"class"`
			}
			if err := c.do("POST", fmt.Sprintf("/api/apps/%d/classes", app), body, &out); err != nil {
				return err
			}
			c.print(out.Class, func(w io.Writer) { fmt.Fprintf(w, "class %s defined with %d fields\n", name, len(fs)) })
			return nil
		},
	}
	create.Flags().StringVar(&name, "name", "", "class name")
	create.Flags().StringArrayVar(&fields, "field", nil, "a field, name:type (repeat)")
	create.Flags().StringVar(&read, "read", "open", "who reads records: open or owner")
	create.Flags().StringVar(&update, "update", "owner", "who updates records: open or owner")
	create.Flags().StringVar(&del, "delete", "owner", "who deletes records: open or owner")
	list := &cobra.Command{
		Use:   "list",
		Short: "List classes",
		RunE: func(*cobra.Command, []string) error {
			var out struct {
				Items []struct {
					Name   string `json:"name"`
					Fields []struct{ Name, Type string }
					Read   string `json:"read"`
				} `json:"items"`
			}
			if err := c.do("GET", fmt.Sprintf("/api/apps/%d/classes", app), nil, &out); err != nil {
				return err
			}
			c.print(out.Items, func(w io.Writer) {
				fmt.Fprintln(w, "CLASS\tFIELDS\tREAD")
				for _, cl := range out.Items {
					var fs []string
					for _, f := range cl.Fields {
						fs = append(fs, f.Name+":"+f.Type)
					}
					fmt.Fprintf(w, "%s\t%s\t%s\n", cl.Name, strings.Join(fs, ","), cl.Read)
				}
			})
			return nil
		},
	}
	cmd.AddCommand(create, list)
	return cmd
}
