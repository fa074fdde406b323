package mongo_test

import (
	"os"
	"testing"

	"github.com/parley-chat/parley/rosters"
	"github.com/parley-chat/parley/storage/storetest"
)

func TestConformanceRosters(t *testing.T) {
	open := opener(t)
	// FerretDB's updates are not atomic under concurrent writers; a real
	// MongoDB (MONGO_URI) is held to one winner.
	storetest.Rosters(t, func(t *testing.T) rosters.Store { return open(t) }, os.Getenv("MONGO_URI") != "")
}
