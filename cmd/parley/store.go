package main

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/parley-chat/parley/accounts"
	"github.com/parley-chat/parley/addressbook"
	"github.com/parley-chat/parley/dialogs"
	"github.com/parley-chat/parley/files"
	"github.com/parley-chat/parley/history"
	"github.com/parley-chat/parley/meetings"
	"github.com/parley-chat/parley/objects"
	"github.com/parley-chat/parley/privacy"
	"github.com/parley-chat/parley/privatexml"
	"github.com/parley-chat/parley/pubsub"
	"github.com/parley-chat/parley/push"
	"github.com/parley-chat/parley/rosters"
	"github.com/parley-chat/parley/storage/mongo"
	"github.com/parley-chat/parley/storage/sqlite"
)

// backend is everything a node needs from storage; storage/sqlite and
// storage/mongo both provide it.
type backend interface {
	accounts.Store
	dialogs.Store
	dialogs.Users
	history.Store
	history.OfflineStore
	history.MAMStore
	rosters.Store
	privacy.Store
	push.Store
	files.Store
	privatexml.Store
	pubsub.Store
	meetings.Store
	addressbook.Store
	objects.Store
	Ping(ctx context.Context) error
	Close() error
}

type storeOptions struct {
	data, mongoURI, mongoDB, writeConcern, readPref string
}

func (o *storeOptions) flags(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringVar(&o.mongoURI, "mongo-uri", "", "MongoDB URI (cluster mode); empty uses the embedded SQLite store in --data")
	f.StringVar(&o.mongoDB, "mongo-db", "parley", "MongoDB database name")
	f.StringVar(&o.writeConcern, "mongo-write-concern", "majority", "MongoDB write concern: majority or a node count")
	f.StringVar(&o.readPref, "mongo-read-preference", "primary", "MongoDB read preference (primary, primaryPreferred, secondaryPreferred, nearest)")
}

// open opens (and migrates) the configured store.
func (o *storeOptions) open(ctx context.Context) (backend, string, error) {
	if o.mongoURI != "" {
		db, err := mongo.Open(ctx, o.mongoURI, o.mongoDB, mongo.Options{WriteConcern: o.writeConcern, ReadPreference: o.readPref})
		return db, "mongodb", err
	}
	db, err := sqlite.Open(ctx, o.data)
	return db, "sqlite", err
}

func migrateCmd() *cobra.Command {
	var o storeOptions
	var config string
	cmd := &cobra.Command{
		Use:   "migrate",
		Short: "Apply schema migrations (SQLite) or create indexes (MongoDB), then exit",
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := applyConfig(cmd.Flags(), config); err != nil {
				return err
			}
			db, kind, err := o.open(cmd.Context())
			if err != nil {
				return err
			}
			defer db.Close()
			fmt.Printf("%s store is up to date\n", kind)
			return nil
		},
	}
	cmd.Flags().StringVar(&config, "config", "", "YAML config file")
	cmd.Flags().StringVar(&o.data, "data", "./data", "data directory of the embedded store")
	o.flags(cmd)
	return cmd
}
