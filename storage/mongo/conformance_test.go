package mongo_test

import (
	"context"
	"testing"

	"github.com/parley-chat/parley/accounts"
	"github.com/parley-chat/parley/addressbook"
	"github.com/parley-chat/parley/internal/testenv"
	"github.com/parley-chat/parley/objects"
	"github.com/parley-chat/parley/privatexml"
	"github.com/parley-chat/parley/pubsub"
	"github.com/parley-chat/parley/storage/mongo"
	"github.com/parley-chat/parley/storage/storetest"
)

// opener starts one MongoDB-wire server for a top-level test and gives each
// subtest a database of its own.
func opener(t *testing.T) func(t *testing.T) *mongo.DB {
	uri, _ := testenv.MongoURI(t)
	n := 0
	return func(t *testing.T) *mongo.DB {
		n++
		db, err := mongo.Open(context.Background(), uri, "parley_conf_"+string(rune('a'+n%26))+randSuffix(), mongo.Options{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Drop(context.Background()); db.Close() })
		return db
	}
}

func TestConformanceAccounts(t *testing.T) {
	open := opener(t)
	storetest.Accounts(t, func(t *testing.T) accounts.Store { return open(t) })
}

func TestConformanceChat(t *testing.T) {
	open := opener(t)
	storetest.Chat(t, func(t *testing.T) storetest.ChatStore { return open(t) })
}

func TestConformanceRosters(t *testing.T) {
	open := opener(t)
	storetest.Rosters(t, func(t *testing.T) storetest.RosterStore { return open(t) })
}

func TestConformanceFiles(t *testing.T) {
	open := opener(t)
	storetest.Files(t, func(t *testing.T) storetest.FilesStore { return open(t) }, storetest.FSBytes)
}

func TestConformancePrivateXML(t *testing.T) {
	open := opener(t)
	storetest.PrivateXML(t, func(t *testing.T) privatexml.Store { return open(t) })
}

// The same file tests with the bytes on a real S3 server.
func TestConformanceFilesS3(t *testing.T) {
	open := opener(t)
	storetest.Files(t, func(t *testing.T) storetest.FilesStore { return open(t) }, storetest.S3Bytes(storetest.SharedS3(t)))
}

func TestConformancePubsub(t *testing.T) {
	open := opener(t)
	storetest.Pubsub(t, func(t *testing.T) pubsub.Store { return open(t) })
}

func TestConformanceMeetings(t *testing.T) {
	open := opener(t)
	storetest.Meetings(t, func(t *testing.T) storetest.MeetingsStore { return open(t) })
}

func TestConformanceAddressBook(t *testing.T) {
	open := opener(t)
	storetest.AddressBook(t, func(t *testing.T) addressbook.Store { return open(t) })
}

func TestConformanceObjects(t *testing.T) {
	open := opener(t)
	storetest.Objects(t, func(t *testing.T) objects.Store { return open(t) })
}
