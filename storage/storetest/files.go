package storetest

import (
	"bytes"
	"cmp"
	"context"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/parley-chat/parley/accounts"
	"github.com/parley-chat/parley/dialogs"
	"github.com/parley-chat/parley/files"
)

// FilesStore is what files need from one backend's data store.
type FilesStore interface {
	accounts.Store
	dialogs.Store
	dialogs.Users
	files.Store
}

// Files checks file records on a store and bytes on a backend, through
// files.Service: upload, complete, reading rights, attachments, limits and
// the removal of what is refused or abandoned. Each bytes backend (the file
// system, S3) runs it with its own Empty check.
func Files(t *testing.T, open func(t *testing.T) FilesStore, openBytes func(t *testing.T) (files.Bytes, func(t *testing.T) int)) {
	ctx := context.Background()
	type env struct {
		svc   *files.Service
		ds    *dialogs.Service
		app   int64
		u     []int64
		count func(t *testing.T) int // how many keys the backend holds
		bytes files.Bytes
	}
	setup := func(t *testing.T) env {
		st := open(t)
		acc := accounts.NewService(st)
		acc.Iterations = 1000
		app, _ := acc.CreateApp(ctx, "f", accounts.AppOptions{})
		var ids []int64
		for i := range 3 {
			login, pw := fmt.Sprintf("user%02d", i), "password-x"
			u, err := acc.CreateUser(ctx, app.ID, accounts.UserInput{Login: &login, Password: &pw})
			if err != nil {
				t.Fatal(err)
			}
			ids = append(ids, u.ID)
		}
		b, count := openBytes(t)
		ds := dialogs.NewService(st, st)
		return env{files.NewService(st, b, ds, []byte("test secret")), ds, app.ID, ids, count, b}
	}
	upload := func(t *testing.T, e env, name, ct string, body []byte) (*files.Blob, error) {
		b, tk, err := e.svc.Create(ctx, e.app, e.u[0], name, ct, false)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.svc.Upload(ctx, tk, bytes.NewReader(body)); err != nil {
			return b, err
		}
		return e.svc.Complete(ctx, e.app, e.u[0], b.ID, int64(len(body)))
	}
	refused := func(err error, field string) bool {
		var r *files.Refusal
		return errors.As(err, &r) && r.Field == field
	}

	t.Run("upload, read, attach, delete", func(t *testing.T) {
		e := setup(t)
		body := bytes.Repeat([]byte("hello parley "), 1000)
		b, err := upload(t, e, "notes.txt", "text/plain", body)
		if err != nil {
			t.Fatal(err)
		}
		if !b.Complete || b.Size != int64(len(body)) {
			t.Fatalf("completed blob %+v", b)
		}
		read := func(viewer int64) ([]byte, error) {
			_, c, err := e.svc.Open(ctx, viewer, e.app, b.UID)
			if err != nil {
				return nil, err
			}
			defer c.Close()
			if _, err := c.Seek(6, io.SeekStart); err != nil { // ranges need seeking
				return nil, err
			}
			return io.ReadAll(c)
		}
		if got, err := read(e.u[0]); err != nil || !bytes.Equal(got, body[6:]) {
			t.Fatalf("the owner reads %d bytes: %v", len(got), err)
		}
		if _, err := read(e.u[1]); !errors.Is(err, files.ErrNotFound) {
			t.Fatalf("another user reads a private file: %v", err)
		}
		if _, err := read(0); !errors.Is(err, files.ErrNotFound) {
			t.Fatalf("anyone reads a private file: %v", err)
		}
		// Attached in a dialog, its readers may read it; others still not.
		typ, name := dialogs.Group, "g"
		g, err := e.ds.Create(ctx, e.app, e.u[0], dialogs.Input{Type: &typ, Name: &name, Occupants: []int64{e.u[1]}})
		if err != nil {
			t.Fatal(err)
		}
		if err := e.svc.Attach(ctx, e.app, e.u[0], g.ID, []string{b.UID}); err != nil {
			t.Fatal(err)
		}
		if err := e.svc.Attach(ctx, e.app, e.u[0], g.ID, []string{b.UID}); err != nil {
			t.Fatal(err)
		}
		if got, err := read(e.u[1]); err != nil || !bytes.Equal(got, body[6:]) {
			t.Fatalf("an occupant reads the attachment: %v", err)
		}
		if _, err := read(e.u[2]); !errors.Is(err, files.ErrNotFound) {
			t.Fatalf("a non-occupant reads the attachment: %v", err)
		}
		if err := e.svc.Attach(ctx, e.app, e.u[2], g.ID, []string{b.UID}); !refused(err, "attachments") {
			t.Fatalf("someone else's private file attached: %v", err)
		}
		if err := e.svc.Attach(ctx, e.app, e.u[0], g.ID, []string{"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"}); !refused(err, "attachments") {
			t.Fatalf("a missing file attached: %v", err)
		}
		// A backend with signed URLs hands readers one, on request.
		if _, ok := e.bytes.(files.Presigner); ok {
			if u, _ := e.svc.DownloadURL(ctx, e.u[1], e.app, b.UID); u != "" {
				t.Fatal("a signed URL while presigned downloads are off")
			}
			e.svc.SetPresign(time.Minute)
			u, err := e.svc.DownloadURL(ctx, e.u[1], e.app, b.UID)
			if err != nil || u == "" {
				t.Fatalf("signed URL: %q %v", u, err)
			}
			resp, err := http.Get(u)
			if err != nil {
				t.Fatal(err)
			}
			got, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 || !bytes.Equal(got, body) {
				t.Fatalf("the signed URL gave %d and %d bytes", resp.StatusCode, len(got))
			}
			if _, err := e.svc.DownloadURL(ctx, e.u[2], e.app, b.UID); !errors.Is(err, files.ErrNotFound) {
				t.Fatalf("a signed URL for a non-reader: %v", err)
			}
			e.svc.SetPresign(0)
		}
		if info, err := e.svc.Info(ctx, e.app, e.u[1], b.UID); err != nil || info.ID != b.ID || len(info.Dialogs) != 1 {
			t.Fatalf("info by uid: %+v %v", info, err)
		}
		if list, n, err := e.svc.List(ctx, e.app, e.u[0], 1, 10); err != nil || n != 1 || len(list) != 1 {
			t.Fatalf("list: %v %d %v", list, n, err)
		}
		if _, err := e.svc.Rename(ctx, e.app, e.u[0], b.ID, "../etc/passwd"); !refused(err, "name") {
			t.Fatalf("a path as name: %v", err)
		}
		if r, err := e.svc.Rename(ctx, e.app, e.u[0], b.ID, "renamed.txt"); err != nil || r.Name != "renamed.txt" {
			t.Fatalf("rename: %v", err)
		}
		if err := e.svc.Delete(ctx, e.app, e.u[1], b.ID); !errors.Is(err, files.ErrForbidden) {
			t.Fatalf("someone else deletes: %v", err)
		}
		if err := e.svc.Delete(ctx, e.app, e.u[0], b.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := read(e.u[0]); !errors.Is(err, files.ErrNotFound) {
			t.Fatalf("a deleted file: %v", err)
		}
		if n := e.count(t); n != 0 {
			t.Fatalf("%d keys left after the delete", n)
		}
	})

	t.Run("refusals leave nothing behind", func(t *testing.T) {
		e := setup(t)
		l := e.svc.Limits()
		l.MaxSize, l.MaxPixels = 64<<10, 1_000_000
		e.svc.SetLimits(l)
		if _, err := upload(t, e, "big.bin", "application/octet-stream", make([]byte, 64<<10+1)); !refused(err, "file") {
			t.Fatalf("over the size limit: %v", err)
		}
		if _, err := upload(t, e, "fake.png", "image/png", []byte("%PDF-1.4 not a picture")); !refused(err, "content_type") {
			t.Fatalf("a wrong content type: %v", err)
		}
		var bomb bytes.Buffer
		png.Encode(&bomb, image.NewGray(image.Rect(0, 0, 1, 1)))
		raw := bomb.Bytes()
		// The IHDR's width and height (bytes 16-23) claim 20000 x 20000,
		// with the chunk's CRC made right.
		copy(raw[16:24], []byte{0, 0, 0x4e, 0x20, 0, 0, 0x4e, 0x20})
		binary.BigEndian.PutUint32(raw[29:33], crc32.ChecksumIEEE(raw[12:29]))
		if _, err := upload(t, e, "bomb.png", "image/png", raw); !refused(err, "file") {
			t.Fatalf("a decompression bomb: %v", err)
		}
		if _, _, err := e.svc.Create(ctx, e.app, e.u[0], "../../x", "text/plain", false); !refused(err, "name") {
			t.Fatalf("a path-traversal name: %v", err)
		}
		// A truncated upload (the reader fails half way).
		b, tk, _ := e.svc.Create(ctx, e.app, e.u[0], "cut.txt", "text/plain", false)
		if _, err := e.svc.Upload(ctx, tk, io.MultiReader(strings.NewReader("half"), errReader{})); err == nil {
			t.Fatal("a truncated upload was taken")
		}
		if _, err := e.svc.Complete(ctx, e.app, e.u[0], b.ID, 4); !refused(err, "blob") {
			t.Fatalf("completing a failed upload: %v", err)
		}
		if n := e.count(t); n != 0 {
			t.Fatalf("%d keys left after refusals", n)
		}
		// A good image keeps its dimensions; a second complete is refused,
		// and so is a second upload with the same ticket.
		var ok bytes.Buffer
		img := image.NewRGBA(image.Rect(0, 0, 3, 2))
		img.Set(0, 0, color.White)
		png.Encode(&ok, img)
		b, tk, _ = e.svc.Create(ctx, e.app, e.u[0], "dot.png", "image/png", true)
		up, err := e.svc.Upload(ctx, tk, bytes.NewReader(ok.Bytes()))
		if err != nil || up.Width != 3 || up.Height != 2 {
			t.Fatalf("an image: %+v %v", up, err)
		}
		if _, err := e.svc.Upload(ctx, tk, bytes.NewReader(ok.Bytes())); !errors.Is(err, files.ErrConflict) {
			t.Fatalf("a second upload: %v", err)
		}
		if _, err := e.svc.Complete(ctx, e.app, e.u[0], b.ID, 1); !refused(err, "size") {
			t.Fatalf("a wrong size: %v", err)
		}
		if _, err := e.svc.Complete(ctx, e.app, e.u[0], b.ID, 0); err != nil {
			t.Fatal(err)
		}
		if _, err := e.svc.Complete(ctx, e.app, e.u[0], b.ID, 0); !refused(err, "blob") {
			t.Fatalf("a second complete: %v", err)
		}
		// Public: anyone reads it.
		if _, c, err := e.svc.Open(ctx, 0, 0, b.UID); err != nil {
			t.Fatalf("a public file: %v", err)
		} else {
			c.Close()
		}
		// A forged or expired ticket.
		tk2 := tk
		tk2.Token = strings.Repeat("0", 64)
		if _, err := e.svc.Upload(ctx, tk2, strings.NewReader("x")); !errors.Is(err, files.ErrForbidden) {
			t.Fatalf("a forged ticket: %v", err)
		}
	})

	t.Run("image previews", func(t *testing.T) {
		e := setup(t)
		for _, tc := range []struct {
			w, h, pw, ph int
			ct           string
		}{{1000, 500, 320, 160, "image/png"}, {300, 900, 106, 320, "image/jpeg"}, {3, 2, 3, 2, "image/png"}} {
			img := image.NewRGBA(image.Rect(0, 0, tc.w, tc.h))
			img.Set(1, 1, color.RGBA{200, 10, 10, 255})
			var buf bytes.Buffer
			if tc.ct == "image/png" {
				png.Encode(&buf, img)
			} else {
				jpeg.Encode(&buf, img, nil)
			}
			b, err := upload(t, e, "pic", tc.ct, buf.Bytes())
			if err != nil {
				t.Fatal(err)
			}
			_, c, err := e.svc.OpenPreview(ctx, e.u[0], e.app, b.UID)
			if err != nil {
				t.Fatalf("%dx%d: no preview: %v", tc.w, tc.h, err)
			}
			cfg, format, err := image.DecodeConfig(c)
			c.Close()
			if err != nil || cfg.Width != tc.pw || cfg.Height != tc.ph {
				t.Fatalf("%dx%d: preview %s %dx%d (%v), want %dx%d", tc.w, tc.h, format, cfg.Width, cfg.Height, err, tc.pw, tc.ph)
			}
			if _, _, err := e.svc.OpenPreview(ctx, e.u[1], e.app, b.UID); !errors.Is(err, files.ErrNotFound) {
				t.Fatalf("another user's private preview: %v", err)
			}
			if err := e.svc.Delete(ctx, e.app, e.u[0], b.ID); err != nil {
				t.Fatal(err)
			}
		}
		// WebP decodes too (a 1x1 lossless image): its preview is a JPEG.
		webp, _ := base64.StdEncoding.DecodeString("UklGRhoAAABXRUJQVlA4TA0AAAAvAAAAEAcQERGIiP4HAA==")
		b, err := upload(t, e, "dot.webp", "image/webp", webp)
		if err != nil || b.Width != 1 || b.Height != 1 {
			t.Fatalf("a WebP image: %+v %v", b, err)
		}
		_, c, err := e.svc.OpenPreview(ctx, e.u[0], e.app, b.UID)
		if err != nil {
			t.Fatalf("WebP preview: %v", err)
		}
		if _, format, err := image.DecodeConfig(c); err != nil || format != "jpeg" {
			t.Fatalf("WebP preview: %s %v", format, err)
		}
		c.Close()
		e.svc.Delete(ctx, e.app, e.u[0], b.ID)
		if n := e.count(t); n != 0 {
			t.Fatalf("%d keys left (previews included) after the deletes", n)
		}
	})

	t.Run("slots uploaded straight to the backend", func(t *testing.T) {
		e := setup(t)
		if _, ok := e.bytes.(files.Presigner); !ok {
			return // a backend without signed URLs: uploads pass through Parley
		}
		e.svc.SetPresignUploads(true)
		put := func(u string, body []byte) int {
			req, _ := http.NewRequest("PUT", u, bytes.NewReader(body))
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			return resp.StatusCode
		}
		var pic bytes.Buffer
		png.Encode(&pic, image.NewGray(image.Rect(0, 0, 4, 3)))
		b, tk, err := e.svc.CreateSlot(ctx, e.app, e.u[0], "pic.png", "image/png", int64(pic.Len()), true)
		if err != nil || tk.PutURL == "" {
			t.Fatalf("a presigned slot: %+v %v", tk, err)
		}
		if code := put(tk.PutURL, append(pic.Bytes(), 0)); code/100 == 2 {
			t.Fatal("the bucket took a PUT of another length")
		}
		if code := put(tk.PutURL, pic.Bytes()); code/100 != 2 {
			t.Fatalf("the presigned PUT: %d", code)
		}
		got, c, err := e.svc.Open(ctx, 0, 0, b.UID)
		if err != nil {
			t.Fatalf("the uploaded slot: %v", err)
		}
		data, _ := io.ReadAll(c)
		c.Close()
		if !bytes.Equal(data, pic.Bytes()) || !got.Complete || got.Width != 4 {
			t.Fatalf("settled %+v, %d bytes", got, len(data))
		}
		// Bytes that are not what the slot said are removed at first use.
		b2, tk2, _ := e.svc.CreateSlot(ctx, e.app, e.u[0], "fake.png", "image/png", 10, true)
		if code := put(tk2.PutURL, []byte("not a png!")); code/100 != 2 {
			t.Fatalf("the second PUT: %d", code)
		}
		if _, _, err := e.svc.Open(ctx, 0, 0, b2.UID); !errors.Is(err, files.ErrNotFound) {
			t.Fatalf("a fake image: %v", err)
		}
		e.svc.Delete(ctx, e.app, e.u[0], b.ID)
		if n := e.count(t); n != 0 {
			t.Fatalf("%d objects left", n)
		}
	})

	t.Run("quota and abandoned uploads", func(t *testing.T) {
		e := setup(t)
		l := e.svc.Limits()
		l.AppQuota = 10 << 10
		e.svc.SetLimits(l)
		if _, err := upload(t, e, "a.bin", "application/octet-stream", make([]byte, 8<<10)); err != nil {
			t.Fatal(err)
		}
		var r *files.Refusal
		if _, err := upload(t, e, "b.bin", "application/octet-stream", make([]byte, 4<<10)); !errors.As(err, &r) || !r.TooLarge {
			t.Fatalf("over the app's quota: %v", err)
		}
		// An upload never completed, and a blob never uploaded, go after
		// the TTL; the complete one stays.
		b, tk, _ := e.svc.Create(ctx, e.app, e.u[0], "left.txt", "text/plain", false)
		e.svc.Upload(ctx, tk, strings.NewReader("left behind"))
		e.svc.Create(ctx, e.app, e.u[0], "never.txt", "text/plain", false)
		e.svc.SetClock(func() time.Time { return time.Now().Add(25 * time.Hour) })
		if n, err := e.svc.Sweep(ctx, 100); err != nil || n != 3 { // with b.bin's refused upload
			t.Fatalf("swept %d: %v", n, err)
		}
		if _, err := e.svc.Info(ctx, e.app, e.u[0], fmt.Sprint(b.ID)); !errors.Is(err, files.ErrNotFound) {
			t.Fatalf("an abandoned upload: %v", err)
		}
		if n := e.count(t); n != 1 {
			t.Fatalf("%d keys left, want the one complete file", n)
		}
	})

	t.Run("pending files per user", func(t *testing.T) {
		e := setup(t)
		var first *files.Blob
		for i := range files.MaxPending {
			b, _, err := e.svc.Create(ctx, e.app, e.u[0], fmt.Sprintf("p%d.txt", i), "text/plain", false)
			if err != nil {
				t.Fatalf("pending file %d: %v", i, err)
			}
			first = cmp.Or(first, b)
		}
		if _, _, err := e.svc.Create(ctx, e.app, e.u[0], "one-more.txt", "text/plain", false); !refused(err, "blob") {
			t.Fatalf("a file over the pending cap: %v", err)
		}
		if _, _, err := e.svc.CreateSlot(ctx, e.app, e.u[0], "slot.txt", "text/plain", 10, false); !refused(err, "blob") {
			t.Fatalf("a slot over the pending cap: %v", err)
		}
		if _, _, err := e.svc.Create(ctx, e.app, e.u[1], "other.txt", "text/plain", false); err != nil {
			t.Fatalf("another user's file: %v", err)
		}
		if err := e.svc.Delete(ctx, e.app, e.u[0], first.ID); err != nil {
			t.Fatal(err)
		}
		if _, _, err := e.svc.Create(ctx, e.app, e.u[0], "again.txt", "text/plain", false); err != nil {
			t.Fatalf("after deleting a pending file: %v", err)
		}
	})
}

type errReader struct{}

func (errReader) Read([]byte) (int, error) { return 0, io.ErrUnexpectedEOF }
