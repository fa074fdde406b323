package sqlite_test

import (
	"context"
	"testing"

	"github.com/parley-chat/parley/accounts"
	"github.com/parley-chat/parley/addressbook"
	"github.com/parley-chat/parley/objects"
	"github.com/parley-chat/parley/privatexml"
	"github.com/parley-chat/parley/pubsub"
	"github.com/parley-chat/parley/storage/sqlite"
	"github.com/parley-chat/parley/storage/storetest"
)

func open(t *testing.T) *sqlite.DB {
	db, err := sqlite.Open(context.Background(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func TestConformanceAccounts(t *testing.T) {
	storetest.Accounts(t, func(t *testing.T) accounts.Store { return open(t) })
}

func TestConformanceChat(t *testing.T) {
	storetest.Chat(t, func(t *testing.T) storetest.ChatStore { return open(t) })
}

func TestConformanceRosters(t *testing.T) {
	storetest.Rosters(t, func(t *testing.T) storetest.RosterStore { return open(t) })
}

func TestConformanceFiles(t *testing.T) {
	storetest.Files(t, func(t *testing.T) storetest.FilesStore { return open(t) }, storetest.FSBytes)
}

func TestConformancePrivateXML(t *testing.T) {
	storetest.PrivateXML(t, func(t *testing.T) privatexml.Store { return open(t) })
}

// The same file tests with the bytes on a real S3 server.
func TestConformanceFilesS3(t *testing.T) {
	storetest.Files(t, func(t *testing.T) storetest.FilesStore { return open(t) }, storetest.S3Bytes(storetest.SharedS3(t)))
}

func TestConformancePubsub(t *testing.T) {
	storetest.Pubsub(t, func(t *testing.T) pubsub.Store { return open(t) })
}

func TestConformanceMeetings(t *testing.T) {
	storetest.Meetings(t, func(t *testing.T) storetest.MeetingsStore { return open(t) })
}

func TestConformanceAddressBook(t *testing.T) {
	storetest.AddressBook(t, func(t *testing.T) addressbook.Store { return open(t) })
}

func TestConformanceObjects(t *testing.T) {
	storetest.Objects(t, func(t *testing.T) objects.Store { return open(t) })
}
