package mongo

import (
	"context"
	"strconv"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/parley-chat/parley/addressbook"
)

var _ addressbook.Store = (*DB)(nil)

func init() { indexes["address_book"] = []mongoIndex{{"app_id", "user_id", "udid", "phone"}} }

type contactDoc struct {
	Key    string `bson:"_id"`
	AppID  int64  `bson:"app_id"`
	UserID int64  `bson:"user_id"`
	UDID   string `bson:"udid"`
	Phone  string `bson:"phone"`
	Name   string `bson:"name"`
}

func contactKey(o addressbook.Owner, phone string) string {
	return strconv.FormatInt(o.AppID, 10) + ":" + strconv.FormatInt(o.UserID, 10) + ":" + o.UDID + "\x00" + phone
}

func bookFilter(o addressbook.Owner) bson.M {
	return bson.M{"app_id": o.AppID, "user_id": o.UserID, "udid": o.UDID}
}

// Contacts implements addressbook.Store.
func (s *DB) Contacts(ctx context.Context, o addressbook.Owner) ([]addressbook.Contact, error) {
	docs, err := findAll[contactDoc](ctx, s.c("address_book"), bookFilter(o), options.Find().SetSort(bson.D{{Key: "phone", Value: 1}}))
	if err != nil {
		return nil, err
	}
	out := make([]addressbook.Contact, len(docs))
	for i, d := range docs {
		out[i] = addressbook.Contact{Name: d.Name, Phone: d.Phone}
	}
	return out, nil
}

// PutContacts implements addressbook.Store.
func (s *DB) PutContacts(ctx context.Context, o addressbook.Owner, put []addressbook.Contact, remove []string, replace bool) error {
	if replace {
		if _, err := s.c("address_book").DeleteMany(ctx, bookFilter(o)); err != nil {
			return err
		}
	}
	for _, p := range remove {
		if _, err := s.c("address_book").DeleteOne(ctx, bson.M{"_id": contactKey(o, p)}); err != nil {
			return err
		}
	}
	for _, c := range put {
		d := contactDoc{Key: contactKey(o, c.Phone), AppID: o.AppID, UserID: o.UserID, UDID: o.UDID, Phone: c.Phone, Name: c.Name}
		if _, err := s.c("address_book").ReplaceOne(ctx, bson.M{"_id": d.Key}, d, options.Replace().SetUpsert(true)); err != nil {
			return err
		}
	}
	return nil
}

// CountContacts implements addressbook.Store.
func (s *DB) CountContacts(ctx context.Context, o addressbook.Owner) (int, error) {
	n, err := s.c("address_book").CountDocuments(ctx, bookFilter(o))
	return int(n), err
}

// DeleteUserContacts implements addressbook.Store.
func (s *DB) DeleteUserContacts(ctx context.Context, app, user int64) error {
	_, err := s.c("address_book").DeleteMany(ctx, bson.M{"app_id": app, "user_id": user})
	return err
}

// CountUserContacts implements addressbook.Store.
func (s *DB) CountUserContacts(ctx context.Context, app, user int64) (int, error) {
	n, err := s.c("address_book").CountDocuments(ctx, bson.M{"app_id": app, "user_id": user})
	return int(n), err
}
