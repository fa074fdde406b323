package main

import (
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"

	"github.com/spf13/pflag"
)

// reloadable are the settings SIGHUP applies to a running node; a change
// to any other is logged as needing a restart.
var reloadable = map[string]bool{"log-level": true, "tls-cert": true, "tls-key": true,
	"dialogs-per-minute": true, "dialogs-per-hour": true, "dialog-max-occupants": true, "dialog-adds-per-hour": true,
	"sessions-per-minute": true, "sessions-per-hour": true, "sessions-per-user": true,
	"push-subscriptions-per-user": true, "push-subscriptions-per-hour": true,
	"privacy-lists-per-user": true, "privacy-list-items": true}

// reloader applies SIGHUP: it reads the settings again (command line,
// environment, config file, as at start) and applies what can change while
// serving.
type reloader struct {
	start   *pflag.FlagSet // the settings at start; Visit yields what the command line set
	current *pflag.FlagSet // the reloadable settings in force
	limits  limitOptions   // the limits in force
	level   *slog.LevelVar
	certs   *certs
	apply   func(limitOptions)
	log     *slog.Logger
}

func (r *reloader) reload() {
	next, fs, err := r.reread()
	if err != nil {
		r.log.Error("SIGHUP: settings not reloaded; the running ones stay", "err", err)
		return
	}
	var done []string
	var level slog.Level
	if err := level.UnmarshalText([]byte(next.logLevel)); err != nil {
		r.log.Error("SIGHUP: log-level not reloaded", "err", err)
	} else if level != r.level.Level() {
		r.level.Set(level)
		done = append(done, "log-level="+level.String())
	}
	if err := r.certs.reload(next.tlsCert, next.tlsKey); err != nil {
		r.log.Error("SIGHUP: TLS certificate not reloaded; the running one stays", "err", err)
	} else {
		done = append(done, "certificate "+r.certs.describe())
	}
	if next.limits != r.limits {
		r.apply(next.limits)
		r.limits = next.limits
		done = append(done, "limits "+strings.Join(changed(r.current, fs, func(name string) bool {
			return reloadable[name] && name != "log-level" && !strings.HasPrefix(name, "tls-")
		}), ", "))
	}
	r.current = fs
	restart := changed(r.start, fs, func(name string) bool { return !reloadable[name] })
	if len(restart) > 0 {
		r.log.Warn("SIGHUP: these settings changed but apply only after a restart", "settings", strings.Join(restart, ", "))
	}
	r.log.Info("SIGHUP: reloaded", "what", strings.Join(done, "; "))
}

// reread parses the serve settings again: the command line as given, then
// the environment and the config file.
func (r *reloader) reread() (serveOptions, *pflag.FlagSet, error) {
	var next serveOptions
	if r.start == nil {
		return next, nil, errors.New("the settings at start are unknown")
	}
	fs := pflag.NewFlagSet("serve", pflag.ContinueOnError)
	next.register(fs)
	var err error
	r.start.Visit(func(f *pflag.Flag) { // only what the command line set
		if err != nil {
			return
		}
		if sv, ok := f.Value.(pflag.SliceValue); ok {
			err = fs.Lookup(f.Name).Value.(pflag.SliceValue).Replace(sv.GetSlice())
			fs.Lookup(f.Name).Changed = true
			return
		}
		err = fs.Set(f.Name, f.Value.String())
	})
	if err != nil {
		return next, nil, err
	}
	if err := applyConfig(fs, next.config); err != nil {
		return next, nil, err
	}
	return next, fs, nil
}

// changed lists the settings whose value differs between two flag sets,
// among those keep accepts.
func changed(a, b *pflag.FlagSet, keep func(string) bool) []string {
	var out []string
	b.VisitAll(func(f *pflag.Flag) {
		old := a.Lookup(f.Name)
		if old != nil && keep(f.Name) && old.Value.String() != f.Value.String() {
			out = append(out, fmt.Sprintf("%s=%s", f.Name, f.Value.String()))
		}
	})
	slices.Sort(out)
	return out
}
