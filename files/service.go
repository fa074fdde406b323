package files

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"encoding/hex"
	"errors"
	"image"
	_ "image/gif" // DecodeConfig of uploaded images
	_ "image/jpeg"
	_ "image/png"
	"io"
	"mime"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/parley-chat/parley/dialogs"
)

// Limits bound what users store.
type Limits struct {
	MaxSize  int64    // bytes of one file
	AppQuota int64    // bytes of all an app's files; 0: unlimited
	Types    []string // allowed content types ("image/*" matches a family); empty: any
	// MaxPixels refuses images larger than this (decompression bombs).
	MaxPixels int64
	// PendingTTL is how long a file may stay uploaded but not completed (or
	// created and never uploaded) before it is removed.
	PendingTTL time.Duration
	// UploadTTL is how long an upload URL is good for.
	UploadTTL time.Duration
}

// DefaultLimits are the limits of a new installation.
func DefaultLimits() Limits {
	return Limits{MaxSize: 50 << 20, MaxPixels: 100_000_000, PendingTTL: 24 * time.Hour, UploadTTL: time.Hour}
}

// MaxDialogs bounds the dialogs one file is attached in.
const MaxDialogs = 100

// MaxPending bounds a user's files created but not completed yet (they go
// after Limits.PendingTTL).
const MaxPending = 100

// Service applies the rules.
type Service struct {
	store   Store
	bytes   Bytes
	dialogs *dialogs.Service
	secret  []byte
	limits  atomic.Pointer[Limits]
	now     func() time.Time
	// presignTTL, when set, sends downloads to the backend's signed URLs;
	// presignUploads sends slot uploads there too.
	presignTTL     time.Duration
	presignUploads bool
}

// NewService returns a Service; secret signs upload URLs (the same on
// every node of a cluster).
func NewService(store Store, b Bytes, ds *dialogs.Service, secret []byte) *Service {
	s := &Service{store: store, bytes: b, dialogs: ds, secret: secret, now: time.Now}
	l := DefaultLimits()
	s.limits.Store(&l)
	return s
}

// SetLimits replaces the limits (SIGHUP).
func (s *Service) SetLimits(l Limits) { s.limits.Store(&l) }

// Limits returns the limits in force.
func (s *Service) Limits() Limits { return *s.limits.Load() }

// SetClock replaces the clock (tests of expiry).
func (s *Service) SetClock(now func() time.Time) { s.now = now }

// Ticket lets whoever holds it upload one blob's bytes until Expires.
type Ticket struct {
	UID     string
	Expires int64 // unix seconds
	// Size, when not 0, is the size the upload must have; the blob is then
	// complete once uploaded (an XEP-0363 slot).
	Size  int64
	Token string
	// PutURL, when set, is the backend's own signed URL to PUT the bytes to
	// (presigned uploads); the ticket is then not Parley's to check.
	PutURL string
}

func (s *Service) sign(t Ticket) string {
	m := hmac.New(sha256.New, s.secret)
	m.Write([]byte("upload\x00" + t.UID + "\x00" + strconv.FormatInt(t.Expires, 10) + "\x00" + strconv.FormatInt(t.Size, 10)))
	return hex.EncodeToString(m.Sum(nil))
}

var uidEncoding = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

func newUID() string {
	b := make([]byte, 20)
	rand.Read(b)
	return uidEncoding.EncodeToString(b)
}

// ValidUID reports whether s can be a blob uid (so it is safe as a key).
func ValidUID(s string) bool {
	if len(s) != 32 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !(c >= 'a' && c <= 'z' || c >= '2' && c <= '7') {
			return false
		}
	}
	return true
}

// checkName refuses names that are not a plain file name: the name is shown
// and used in Content-Disposition, never as a path, but a name with path
// parts is a mistake or an attack.
func checkName(name string) error {
	switch {
	case name == "" || utf8.RuneCountInString(name) > 255:
		return &Refusal{Field: "name", Msg: "must be 1 to 255 characters"}
	case name == "." || name == ".." || strings.ContainsAny(name, `/\`):
		return &Refusal{Field: "name", Msg: "must be a file name without a path (no / or \\)"}
	case strings.IndexFunc(name, func(r rune) bool { return unicode.IsControl(r) || r == utf8.RuneError }) >= 0:
		return &Refusal{Field: "name", Msg: "must not hold control characters"}
	}
	return nil
}

// checkType validates a declared content type against the allowed ones.
func (s *Service) checkType(ct string, l *Limits) (string, error) {
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil || !strings.Contains(mt, "/") {
		return "", &Refusal{Field: "content_type", Msg: "must be a media type such as image/png"}
	}
	if len(l.Types) > 0 && !slices.ContainsFunc(l.Types, func(t string) bool { return typeMatches(t, mt) }) {
		return "", &Refusal{Field: "content_type", Msg: mt + " is not allowed here; allowed: " + strings.Join(l.Types, ", ")}
	}
	return mt, nil
}

func typeMatches(pattern, mt string) bool {
	if fam, ok := strings.CutSuffix(pattern, "/*"); ok {
		return strings.HasPrefix(mt, fam+"/")
	}
	return pattern == mt
}

// Create records a new blob of owner's and returns the ticket to upload
// its bytes with.
func (s *Service) Create(ctx context.Context, app, owner int64, name, contentType string, public bool) (*Blob, Ticket, error) {
	l := s.Limits()
	if err := checkName(name); err != nil {
		return nil, Ticket{}, err
	}
	if contentType == "" {
		contentType = mime.TypeByExtension(name[strings.LastIndexByte(name, '.')+1:])
		if contentType == "" {
			contentType = "application/octet-stream"
		}
	}
	ct, err := s.checkType(contentType, &l)
	if err != nil {
		return nil, Ticket{}, err
	}
	if err := s.checkPending(ctx, app, owner); err != nil {
		return nil, Ticket{}, err
	}
	now := s.now().UTC()
	b := &Blob{UID: newUID(), AppID: app, OwnerID: owner, Name: name, ContentType: ct, Public: public, CreatedAt: now, UpdatedAt: now}
	if err := s.store.CreateBlob(ctx, b); err != nil {
		return nil, Ticket{}, err
	}
	return b, s.Ticket(b), nil
}

func (s *Service) checkPending(ctx context.Context, app, owner int64) error {
	n, err := s.store.PendingBlobs(ctx, app, owner)
	if err != nil {
		return err
	}
	if n >= MaxPending {
		return &Refusal{Field: "blob", Msg: "you have " + strconv.Itoa(n) + " files not completed yet: complete or delete them first"}
	}
	return nil
}

// Ticket signs an upload ticket for b, good for Limits.UploadTTL.
func (s *Service) Ticket(b *Blob) Ticket {
	t := Ticket{UID: b.UID, Expires: s.now().Add(s.Limits().UploadTTL).Unix()}
	t.Token = s.sign(t)
	return t
}

// CreateSlot is Create for a file of a known size (an XEP-0363 upload slot):
// a size over the limits is refused at once, and the upload, which must
// have that size, completes the blob.
func (s *Service) CreateSlot(ctx context.Context, app, owner int64, name, contentType string, size int64, public bool) (*Blob, Ticket, error) {
	l := s.Limits()
	if size <= 0 {
		return nil, Ticket{}, &Refusal{Field: "size", Msg: "must be a positive number of bytes"}
	}
	if size > l.MaxSize {
		return nil, Ticket{}, &Refusal{Field: "file", Msg: "is larger than " + strconv.FormatInt(l.MaxSize, 10) + " bytes", TooLarge: true}
	}
	if l.AppQuota > 0 {
		used, err := s.store.BlobUsage(ctx, app)
		if err != nil {
			return nil, Ticket{}, err
		}
		if used+size > l.AppQuota {
			return nil, Ticket{}, &Refusal{Field: "file", Msg: "does not fit in the app's storage quota (" + strconv.FormatInt(max(l.AppQuota-used, 0), 10) + " bytes left)", TooLarge: true}
		}
	}
	if p, ok := s.bytes.(Presigner); ok && s.presignUploads {
		// Straight to the backend: the record carries the size it awaits.
		if err := checkName(name); err != nil {
			return nil, Ticket{}, err
		}
		ct, err := s.checkType(cmpOr(contentType, "application/octet-stream"), &l)
		if err != nil {
			return nil, Ticket{}, err
		}
		if err := s.checkPending(ctx, app, owner); err != nil {
			return nil, Ticket{}, err
		}
		now := s.now().UTC()
		b := &Blob{UID: newUID(), AppID: app, OwnerID: owner, Name: name, ContentType: ct, Public: public, Size: size, CreatedAt: now, UpdatedAt: now}
		if err := s.store.CreateBlob(ctx, b); err != nil {
			return nil, Ticket{}, err
		}
		u, err := p.PresignPut(ctx, b.UID, size, l.UploadTTL)
		if err != nil {
			return nil, Ticket{}, err
		}
		return b, Ticket{UID: b.UID, Size: size, PutURL: u}, nil
	}
	b, t, err := s.Create(ctx, app, owner, name, contentType, public)
	if err != nil {
		return nil, Ticket{}, err
	}
	t.Size = size
	t.Token = s.sign(t)
	return b, t, nil
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// sniffed keeps the first bytes that pass, to check the content type, and
// fails once more than max bytes passed.
type sniffed struct {
	r    io.Reader
	max  int64
	n    int64
	head []byte
	over bool
}

func (c *sniffed) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	if len(c.head) < 512 {
		c.head = append(c.head, p[:min(n, 512-len(c.head))]...)
	}
	if c.n > c.max {
		c.over = true
		return n, errTooLarge
	}
	return n, err
}

var errTooLarge = errors.New("files: too large")

// Upload stores the bytes of the blob a valid ticket names. The file's
// size is bounded by the limits and the app's quota as it streams; its
// content type is checked against its first bytes; an image's dimensions
// are read (and a decompression bomb refused). Nothing is kept of a
// refused upload.
func (s *Service) Upload(ctx context.Context, t Ticket, r io.Reader) (*Blob, error) {
	return s.UploadSized(ctx, t, r, -1)
}

// UploadSized is Upload of size bytes when the length is known (an HTTP
// Content-Length), else -1: a size over the limits is refused before a
// byte is read, and a backend may stream rather than buffer.
func (s *Service) UploadSized(ctx context.Context, t Ticket, r io.Reader, size int64) (*Blob, error) {
	if !ValidUID(t.UID) || !hmac.Equal([]byte(s.sign(t)), []byte(t.Token)) {
		return nil, ErrForbidden
	}
	if s.now().Unix() > t.Expires {
		return nil, &Refusal{Field: "expires", Msg: "has passed: create the blob again for a new upload URL"}
	}
	b, err := s.store.BlobByUID(ctx, t.UID)
	if err != nil {
		return nil, err
	}
	if b.Uploaded {
		return nil, ErrConflict
	}
	l := s.Limits()
	room, why := l.MaxSize, "is larger than "+strconv.FormatInt(l.MaxSize, 10)+" bytes"
	if t.Size > 0 && t.Size < room {
		room, why = t.Size, "is larger than the "+strconv.FormatInt(t.Size, 10)+" bytes the slot was for"
	}
	if l.AppQuota > 0 {
		used, err := s.store.BlobUsage(ctx, b.AppID)
		if err != nil {
			return nil, err
		}
		if left := max(l.AppQuota-used, 0); left < room {
			room, why = left, "does not fit in the app's storage quota ("+strconv.FormatInt(left, 10)+" bytes left)"
		}
	}
	if t.Size > 0 && size < 0 {
		size = t.Size
	}
	if size > room {
		return nil, &Refusal{Field: "file", Msg: why, TooLarge: true}
	}
	src := &sniffed{r: r, max: room}
	n, err := s.bytes.Write(ctx, b.UID, src, size)
	if src.over {
		return nil, &Refusal{Field: "file", Msg: why, TooLarge: true}
	}
	if err != nil {
		return nil, err
	}
	refuse := func(err error) (*Blob, error) {
		s.bytes.Remove(context.WithoutCancel(ctx), b.UID)
		return nil, err
	}
	if t.Size > 0 && n != t.Size {
		return refuse(&Refusal{Field: "file", Msg: "has " + strconv.FormatInt(n, 10) + " bytes, not the " + strconv.FormatInt(t.Size, 10) + " the slot was for"})
	}
	if err := contentMatches(b.ContentType, src.head); err != nil {
		return refuse(err)
	}
	w, h := 0, 0
	if strings.HasPrefix(b.ContentType, "image/") {
		if w, h, err = s.dimensions(ctx, b.UID, &l); err != nil {
			return refuse(err)
		}
	}
	if err := s.store.MarkBlobUploaded(ctx, b.AppID, b.ID, n, w, h, s.now().UTC()); err != nil {
		return refuse(err)
	}
	b.Uploaded, b.Size, b.Width, b.Height = true, n, w, h
	if w > 0 {
		s.makePreview(ctx, b)
	}
	if t.Size > 0 {
		if err := s.store.CompleteBlob(ctx, b.AppID, b.ID, s.now().UTC()); err != nil {
			return nil, err
		}
		b.Complete = true
	}
	return b, nil
}

// contentMatches refuses bytes that are recognisably not what the blob
// declared: a declared image, audio or video must sniff as that family
// when the sniffer knows it, and bytes that sniff as an image, audio,
// video or archive must be declared as that very type.
func contentMatches(declared string, head []byte) error {
	sniff, _, _ := mime.ParseMediaType(http.DetectContentType(head))
	generic := sniff == "application/octet-stream" || strings.HasPrefix(sniff, "text/")
	fam := func(t string) string { return t[:strings.IndexByte(t, '/')] }
	media := func(t string) bool {
		f := fam(t)
		return f == "image" || f == "audio" || f == "video"
	}
	switch {
	case len(head) == 0, declared == "application/octet-stream": // any bytes
		return nil
	case strings.HasPrefix(declared, "image/") && !strings.HasPrefix(sniff, "image/") && declared != "image/svg+xml":
		return &Refusal{Field: "content_type", Msg: "is " + declared + " but the file is not an image (" + sniff + ")"}
	case !generic && media(sniff) && sniff != declared && fam(sniff) != fam(declared):
		return &Refusal{Field: "content_type", Msg: "is " + declared + " but the file is " + sniff}
	case strings.HasPrefix(sniff, "image/") && strings.HasPrefix(declared, "image/") && sniff != declared:
		return &Refusal{Field: "content_type", Msg: "is " + declared + " but the file is " + sniff}
	}
	return nil
}

// dimensions reads an image's size from its header only.
func (s *Service) dimensions(ctx context.Context, key string, l *Limits) (int, int, error) {
	c, err := s.bytes.Open(ctx, key)
	if err != nil {
		return 0, 0, err
	}
	defer c.Close()
	cfg, _, err := image.DecodeConfig(io.LimitReader(c, 1<<20))
	if errors.Is(err, image.ErrFormat) {
		return 0, 0, nil // a format the server does not decode: stored as it is
	}
	if err != nil {
		return 0, 0, &Refusal{Field: "file", Msg: "is not a readable image: " + err.Error()}
	}
	if cfg.Width <= 0 || cfg.Height <= 0 || l.MaxPixels > 0 && int64(cfg.Width)*int64(cfg.Height) > l.MaxPixels {
		return 0, 0, &Refusal{Field: "file", Msg: "is an image of " + strconv.Itoa(cfg.Width) + "x" + strconv.Itoa(cfg.Height) + " pixels, more than the " + strconv.FormatInt(l.MaxPixels, 10) + " allowed"}
	}
	return cfg.Width, cfg.Height, nil
}

// Complete confirms an upload (the SDK's markUploaded); size, when given,
// must be what was uploaded.
func (s *Service) Complete(ctx context.Context, app, owner, id, size int64) (*Blob, error) {
	b, err := s.owned(ctx, app, owner, id)
	if err != nil {
		return nil, err
	}
	switch {
	case b.Complete:
		return nil, &Refusal{Field: "blob", Msg: "is already complete"}
	case !b.Uploaded:
		return nil, &Refusal{Field: "blob", Msg: "has no file yet: upload it to the blob's upload URL first"}
	case size > 0 && size != b.Size:
		return nil, &Refusal{Field: "size", Msg: "is " + strconv.FormatInt(size, 10) + " but the uploaded file has " + strconv.FormatInt(b.Size, 10) + " bytes"}
	}
	if err := s.store.CompleteBlob(ctx, app, id, s.now().UTC()); err != nil {
		if errors.Is(err, ErrConflict) {
			return nil, &Refusal{Field: "blob", Msg: "is already complete"}
		}
		return nil, err
	}
	b.Complete = true
	return b, nil
}

func (s *Service) owned(ctx context.Context, app, owner, id int64) (*Blob, error) {
	b, err := s.store.Blob(ctx, app, id)
	if err != nil {
		return nil, err
	}
	if b.OwnerID != owner {
		return nil, ErrForbidden
	}
	return b, nil
}

// Info is a blob's record for viewer, by id or uid: the owner's, a public
// one, or one attached in a dialog viewer reads.
func (s *Service) Info(ctx context.Context, app, viewer int64, idOrUID string) (*Blob, error) {
	var b *Blob
	var err error
	if id, perr := strconv.ParseInt(idOrUID, 10, 64); perr == nil {
		b, err = s.store.Blob(ctx, app, id)
	} else if ValidUID(idOrUID) {
		b, err = s.store.BlobByUID(ctx, idOrUID)
		if err == nil && b.AppID != app {
			err = ErrNotFound
		}
	} else {
		err = ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	s.settle(ctx, b)
	if !s.canRead(ctx, b, viewer) {
		return nil, ErrNotFound
	}
	return b, nil
}

func (s *Service) canRead(ctx context.Context, b *Blob, viewer int64) bool {
	if b.OwnerID == viewer && viewer != 0 {
		return true
	}
	if !b.Complete {
		return false
	}
	if b.Public {
		return true
	}
	if viewer == 0 || s.dialogs == nil {
		return false
	}
	for _, id := range b.Dialogs {
		if d, err := s.dialogs.Dialog(ctx, b.AppID, id); err == nil && d.CanRead(viewer) {
			return true
		}
	}
	return false
}

// List is an owner's complete blobs, newest first.
func (s *Service) List(ctx context.Context, app, owner int64, page, perPage int) ([]Blob, int, error) {
	perPage = min(max(perPage, 1), 100)
	page = max(page, 1)
	return s.store.Blobs(ctx, app, owner, perPage, (page-1)*perPage)
}

// Rename changes a blob's name (its owner only).
func (s *Service) Rename(ctx context.Context, app, owner, id int64, name string) (*Blob, error) {
	if err := checkName(name); err != nil {
		return nil, err
	}
	b, err := s.owned(ctx, app, owner, id)
	if err != nil {
		return nil, err
	}
	now := s.now().UTC()
	if err := s.store.RenameBlob(ctx, app, id, name, now); err != nil {
		return nil, err
	}
	b.Name, b.UpdatedAt = name, now
	return b, nil
}

// Delete removes a blob (its owner only): the record, then the bytes.
func (s *Service) Delete(ctx context.Context, app, owner, id int64) error {
	b, err := s.owned(ctx, app, owner, id)
	if err != nil {
		return err
	}
	if err := s.store.DeleteBlob(ctx, app, id); err != nil {
		return err
	}
	s.bytes.Remove(ctx, PreviewKey(b.UID))
	return s.bytes.Remove(ctx, b.UID)
}

// Open reads a blob's bytes for viewer (0: anonymous, who reads public
// blobs only).
func (s *Service) Open(ctx context.Context, viewer, viewerApp int64, uid string) (*Blob, Content, error) {
	if !ValidUID(uid) {
		return nil, nil, ErrNotFound
	}
	b, err := s.store.BlobByUID(ctx, uid)
	if err != nil {
		return nil, nil, err
	}
	s.settle(ctx, b)
	if viewer != 0 && b.AppID != viewerApp || !b.Uploaded || !s.canRead(ctx, b, viewer) {
		return nil, nil, ErrNotFound
	}
	c, err := s.bytes.Open(ctx, b.UID)
	if err != nil {
		return nil, nil, err
	}
	return b, c, nil
}

// DownloadURL is a signed URL of the bytes backend's for viewer to fetch
// the blob from directly, when the backend gives them and presigned
// downloads are on (SetPresign); "" otherwise.
func (s *Service) DownloadURL(ctx context.Context, viewer, viewerApp int64, uid string) (string, error) {
	p, ok := s.bytes.(Presigner)
	if !ok || s.presignTTL <= 0 {
		return "", nil
	}
	b, c, err := s.Open(ctx, viewer, viewerApp, uid)
	if err != nil {
		return "", err
	}
	c.Close()
	return p.PresignGet(ctx, b.UID, b.Name, b.ContentType, s.presignTTL)
}

// SetPresign turns presigned downloads on, each URL good for ttl (0: off):
// the backend's endpoint must then be reachable by clients.
func (s *Service) SetPresign(ttl time.Duration) { s.presignTTL = ttl }

// SetPresignUploads makes slots (XEP-0363) upload straight to the
// backend's signed PUT URL, of exactly the slot's size; the file is checked
// (size, type, image) when it is first used.
func (s *Service) SetPresignUploads(on bool) { s.presignUploads = on }

// settle completes a slot uploaded straight to the backend: when the
// backend holds the slot's size, the bytes are checked as an upload through
// Parley would be; what fails is removed.
func (s *Service) settle(ctx context.Context, b *Blob) {
	p, ok := s.bytes.(Presigner)
	if !ok || b.Uploaded || b.Size == 0 {
		return
	}
	n, err := p.Stat(ctx, b.UID)
	if err != nil {
		return
	}
	if n != b.Size {
		s.bytes.Remove(ctx, b.UID)
		return
	}
	c, err := s.bytes.Open(ctx, b.UID)
	if err != nil {
		return
	}
	head := make([]byte, 512)
	m, _ := io.ReadFull(c, head)
	c.Close()
	l := s.Limits()
	w, h := 0, 0
	err = contentMatches(b.ContentType, head[:m])
	if err == nil && strings.HasPrefix(b.ContentType, "image/") {
		w, h, err = s.dimensions(ctx, b.UID, &l)
	}
	if err != nil {
		s.bytes.Remove(ctx, b.UID)
		return
	}
	now := s.now().UTC()
	if s.store.MarkBlobUploaded(ctx, b.AppID, b.ID, n, w, h, now) != nil || s.store.CompleteBlob(ctx, b.AppID, b.ID, now) != nil {
		return
	}
	b.Uploaded, b.Complete, b.Width, b.Height = true, true, w, h
	if w > 0 {
		s.makePreview(ctx, b)
	}
}

// Readable reports whether user may read the complete file uid of app (a
// custom object's file field names one).
func (s *Service) Readable(ctx context.Context, app, user int64, uid string) bool {
	if !ValidUID(uid) {
		return false
	}
	b, err := s.store.BlobByUID(ctx, uid)
	return err == nil && b.AppID == app && b.Complete && s.canRead(ctx, b, user)
}

// ETag is a blob's entity tag: its bytes never change once uploaded.
func (b *Blob) ETag() string { return `"` + b.UID + `"` }

// Attach checks the blob uids a message's attachments name (each must be a
// complete file of the app the sender may read) and records the dialog,
// so the dialog's readers may download them.
func (s *Service) Attach(ctx context.Context, app, sender int64, dialog string, uids []string) error {
	for _, uid := range uids {
		b, err := s.store.BlobByUID(ctx, uid)
		if err == nil {
			s.settle(ctx, b)
		}
		if !ValidUID(uid) || errors.Is(err, ErrNotFound) || err == nil && (b.AppID != app || !s.canRead(ctx, b, sender) || !b.Complete) {
			return &Refusal{Field: "attachments", Msg: "name a file (uid " + uid + ") that does not exist or that the sender may not use"}
		}
		if err != nil {
			return err
		}
		if slices.Contains(b.Dialogs, dialog) {
			continue
		}
		if len(b.Dialogs) >= MaxDialogs {
			return &Refusal{Field: "attachments", Msg: "a file may be attached in at most " + strconv.Itoa(MaxDialogs) + " dialogs"}
		}
		if err := s.store.AttachBlob(ctx, app, b.ID, dialog); err != nil {
			return err
		}
	}
	return nil
}

// Sweep removes blobs never completed within PendingTTL, at most limit of
// them, and reports how many went.
func (s *Service) Sweep(ctx context.Context, limit int) (int, error) {
	stale, err := s.store.StaleBlobs(ctx, s.now().Add(-s.Limits().PendingTTL), limit)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, b := range stale {
		if s.settle(ctx, &b); b.Complete {
			continue // uploaded straight to the backend, and never read yet
		}
		if err := s.store.DeleteBlob(ctx, b.AppID, b.ID); err != nil && !errors.Is(err, ErrNotFound) {
			return n, err
		}
		if err := s.bytes.Remove(ctx, b.UID); err != nil {
			return n, err
		}
		s.bytes.Remove(ctx, PreviewKey(b.UID))
		n++
	}
	return n, nil
}

// CheckPicture accepts a picture reference a user sets as an avatar or a
// dialog photo (field names it in the refusal): a URL, or the uid of a
// complete, public image file of the app, which everyone may see.
func (s *Service) CheckPicture(ctx context.Context, app, user int64, field, ref string) error {
	if strings.HasPrefix(ref, "https://") || strings.HasPrefix(ref, "http://") {
		return nil
	}
	bad := &Refusal{Field: field, Msg: "must be a URL or the uid of a public image uploaded to this app"}
	if !ValidUID(ref) {
		return bad
	}
	b, err := s.store.BlobByUID(ctx, ref)
	if errors.Is(err, ErrNotFound) || err == nil && (b.AppID != app || !b.Complete) {
		return bad
	}
	if err != nil {
		return err
	}
	if !b.Public || !strings.HasPrefix(b.ContentType, "image/") {
		return &Refusal{Field: field, Msg: "names a file that is not a public image: upload the picture with public: true"}
	}
	return nil
}
