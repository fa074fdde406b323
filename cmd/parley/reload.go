package main

import (
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/spf13/pflag"
)

// reloadable are the settings SIGHUP applies to a running node; a change
// to any other is logged as needing a restart.
var reloadable = map[string]bool{"log-level": true, "tls-cert": true, "tls-key": true}

func init() {
	var l limitOptions
	fs := pflag.NewFlagSet("limits", pflag.ContinueOnError)
	l.register(fs)
	fs.VisitAll(func(f *pflag.Flag) { reloadable[f.Name] = true })
}

// reloader applies SIGHUP: it reads the settings again (command line,
// environment, config file, as at start) and applies what can change while
// serving.
type reloader struct {
	start   *pflag.FlagSet // the settings at start; Visit yields what the command line set
	current *pflag.FlagSet // the settings in force
	limits  limitOptions   // the limits in force
	level   *slog.LevelVar
	certs   *certs
	apply   func(limitOptions)
	log     *slog.Logger
}

func (r *reloader) reload() {
	fs, err := r.reread()
	if err != nil {
		r.log.Error("SIGHUP: settings not reloaded; the running ones stay", "err", err)
		return
	}
	get := func(name string) string { return fs.Lookup(name).Value.String() }
	var done []string
	var level slog.Level
	if err := level.UnmarshalText([]byte(get("log-level"))); err != nil {
		r.log.Error("SIGHUP: log-level not reloaded", "err", err)
	} else if level != r.level.Level() {
		r.level.Set(level)
		done = append(done, "log-level="+level.String())
	}
	if err := r.certs.reload(get("tls-cert"), get("tls-key")); err != nil {
		r.log.Error("SIGHUP: TLS certificate not reloaded; the running one stays", "err", err)
	} else {
		done = append(done, "certificate "+r.certs.describe())
	}
	// The limits, parsed and checked by their own flag definitions.
	var next limitOptions
	lfs := pflag.NewFlagSet("limits", pflag.ContinueOnError)
	next.register(lfs)
	lfs.VisitAll(func(f *pflag.Flag) {
		if err == nil {
			if err = f.Value.Set(get(f.Name)); err != nil {
				err = fmt.Errorf("%s: %w", f.Name, err)
			}
		}
	})
	switch {
	case err != nil:
		r.log.Error("SIGHUP: limits not reloaded; the running ones stay", "err", err)
	case !reflect.DeepEqual(next, r.limits):
		r.apply(next)
		r.limits = next
		done = append(done, "limits "+strings.Join(changed(r.current, fs, func(name string) bool { return lfs.Lookup(name) != nil }), ", "))
	}
	r.current = fs
	if restart := changed(r.start, fs, func(name string) bool { return !reloadable[name] }); len(restart) > 0 {
		r.log.Warn("SIGHUP: these settings changed but apply only after a restart", "settings", strings.Join(restart, ", "))
	}
	r.log.Info("SIGHUP: reloaded", "what", strings.Join(done, "; "))
}

// rawValue holds a setting as text: a reload reads every setting the node
// has (whatever defines it) and parses only those it applies.
type rawValue struct{ text, typ string }

func (v *rawValue) String() string     { return v.text }
func (v *rawValue) Set(s string) error { v.text = s; return nil }
func (v *rawValue) Type() string       { return v.typ }

// reread reads the settings again: the command line as given at start,
// then the environment and the config file.
func (r *reloader) reread() (*pflag.FlagSet, error) {
	if r.start == nil {
		return nil, errors.New("the settings at start are unknown")
	}
	fs := pflag.NewFlagSet("serve", pflag.ContinueOnError)
	r.start.VisitAll(func(f *pflag.Flag) {
		fs.AddFlag(&pflag.Flag{Name: f.Name, Value: &rawValue{text: f.DefValue, typ: f.Value.Type()}, DefValue: f.DefValue})
	})
	r.start.Visit(func(f *pflag.Flag) { // only what the command line set
		g := fs.Lookup(f.Name)
		g.Value.Set(f.Value.String())
		g.Changed = true
	})
	if err := applyConfig(fs, fs.Lookup("config").Value.String()); err != nil {
		return nil, err
	}
	return fs, nil
}

// changed lists the settings whose text differs between two flag sets,
// among those keep accepts.
func changed(a, b *pflag.FlagSet, keep func(string) bool) []string {
	norm := func(typ, s string) string {
		if d, err := time.ParseDuration(s); typ == "duration" && err == nil {
			return d.String() // "5m" and "5m0s" are one setting
		}
		return strings.Trim(s, "[]") // lists print as [a,b]
	}
	var out []string
	b.VisitAll(func(f *pflag.Flag) {
		old := a.Lookup(f.Name)
		if old != nil && keep(f.Name) && norm(f.Value.Type(), old.Value.String()) != norm(f.Value.Type(), f.Value.String()) {
			out = append(out, fmt.Sprintf("%s=%s", f.Name, f.Value.String()))
		}
	})
	slices.Sort(out)
	return out
}
