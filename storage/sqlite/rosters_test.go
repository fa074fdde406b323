package sqlite_test

import (
	"testing"

	"github.com/parley-chat/parley/rosters"
	"github.com/parley-chat/parley/storage/storetest"
)

func TestConformanceRosters(t *testing.T) {
	storetest.Rosters(t, func(t *testing.T) rosters.Store { return open(t) }, true)
}
