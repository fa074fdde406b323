package httpapi

import (
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/parley-chat/parley/accounts"
	"github.com/parley-chat/parley/files"
)

// The ConnectyCube storage API (spec 2.5) over package files: create a blob
// and get an upload URL, upload to it (streamed, never read whole),
// complete, read its record, list, rename (the SDK sends update as a GET),
// delete, and download its bytes at /blobs/<uid> (public) or
// /blobs/<uid>?token=<session token> (private).

// uploadPath is where the SDK posts a blob's bytes (multipart, the ticket
// in form fields) and where a client may PUT them (the ticket in the query).
const uploadPath = "/blobs/upload"

func (a *API) routesBlobs() {
	m := a.mux
	m.HandleFunc("POST /blobs.json", a.user(a.createBlob))
	m.HandleFunc("GET /blobs.json", a.user(a.listBlobs))
	m.HandleFunc("PUT /blobs/{id}/complete.json", a.user(a.completeBlob))
	m.HandleFunc("GET /blobs/{file}", a.getBlob)
	m.HandleFunc("HEAD /blobs/{file}", a.getBlob)
	// A file's URL may end with its name (XEP-0363 GET URLs): clients read
	// the type from it.
	m.HandleFunc("GET /blobs/{uid}/{name}", func(w http.ResponseWriter, r *http.Request) { a.download(w, r, r.PathValue("uid")) })
	m.HandleFunc("HEAD /blobs/{uid}/{name}", func(w http.ResponseWriter, r *http.Request) { a.download(w, r, r.PathValue("uid")) })
	m.HandleFunc("DELETE /blobs/{file}", a.user(a.deleteBlob))
	m.HandleFunc("PUT /blobs/{file}", a.user(a.renameBlob))
}

func blobJSON(b *files.Blob) map[string]any {
	status, completed := "new", any(nil)
	if b.Uploaded {
		status = "uploaded"
	}
	if b.Complete {
		status, completed = "complete", iso(b.UpdatedAt)
	}
	out := map[string]any{"id": b.ID, "uid": b.UID, "content_type": b.ContentType, "name": b.Name, "public": b.Public,
		"size": nil, "blob_status": status, "set_completed_at": completed, "created_at": iso(b.CreatedAt), "updated_at": iso(b.UpdatedAt)}
	if b.Uploaded {
		out["size"] = b.Size
	}
	if b.Width > 0 {
		out["width"], out["height"] = b.Width, b.Height
	}
	return out
}

// uploadURL is where a ticket's bytes go: this API's own address as the
// client reached it (or PublicURL), the ticket in the query.
func (a *API) uploadURL(r *http.Request, t files.Ticket) string {
	base := a.publicURL
	if base == "" {
		scheme := "http"
		if r.TLS != nil {
			scheme = "https"
		}
		base = scheme + "://" + r.Host
	}
	q := url.Values{"uid": {t.UID}, "expires": {strconv.FormatInt(t.Expires, 10)}, "token": {t.Token}}
	return strings.TrimSuffix(base, "/") + uploadPath + "?" + q.Encode()
}

func (a *API) createBlob(w http.ResponseWriter, r *http.Request, s *accounts.Session) {
	var in struct {
		Blob struct {
			Name        string `json:"name"`
			ContentType string `json:"content_type"`
			Public      any    `json:"public"`
		} `json:"blob"`
	}
	if err := decodeJSON(r, &in); err != nil {
		a.fail(w, r, err)
		return
	}
	public := in.Blob.Public == true || in.Blob.Public == "true" || in.Blob.Public == "1"
	b, t, err := a.files.Create(r.Context(), s.AppID, s.UserID, in.Blob.Name, in.Blob.ContentType, public)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	out := blobJSON(b)
	out["blob_object_access"] = map[string]any{"id": b.ID, "blob_id": b.ID, "object_access_type": "Write",
		"expires": iso(timeUnix(t.Expires)), "params": a.uploadURL(r, t)}
	writeJSON(w, http.StatusCreated, map[string]any{"blob": out})
}

// upload takes a blob's bytes. It runs before the API's body limit and
// buffering: the file streams to the store, bounded by the files limits.
func (a *API) upload(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	t := files.Ticket{UID: q.Get("uid"), Token: q.Get("token")}
	t.Expires, _ = strconv.ParseInt(q.Get("expires"), 10, 64)
	t.Size, _ = strconv.ParseInt(q.Get("size"), 10, 64)
	r.Body = http.MaxBytesReader(w, r.Body, a.files.Limits().MaxSize+1<<20)
	var b *files.Blob
	var err error
	switch ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); {
	case r.Method == http.MethodPost && ct == "multipart/form-data":
		b, err = a.uploadForm(r, t)
	case r.Method == http.MethodPut:
		b, err = a.files.UploadSized(r.Context(), t, r.Body, r.ContentLength)
	default:
		err = badRequest("upload with POST multipart/form-data (the ticket's fields, then the file as field \"file\") or PUT the bytes")
	}
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, map[string]any{"blob": blobJSON(b)})
}

// uploadForm reads the SDK's multipart upload: the ticket's fields (when
// not in the query), then the file as part "file" (a part the SDK sends
// without a filename under Node).
func (a *API) uploadForm(r *http.Request, t files.Ticket) (*files.Blob, error) {
	mr, err := r.MultipartReader()
	if err != nil {
		return nil, badRequest("a multipart/form-data body is expected")
	}
	for range 20 {
		p, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, badRequest("the multipart body could not be read")
		}
		name := p.FormName()
		if name == "file" {
			return a.files.Upload(r.Context(), t, p)
		}
		v, err := io.ReadAll(io.LimitReader(p, 1024))
		if err != nil {
			return nil, badRequest("the multipart body could not be read")
		}
		switch name {
		case "uid":
			t.UID = string(v)
		case "token":
			t.Token = string(v)
		case "expires":
			t.Expires, _ = strconv.ParseInt(string(v), 10, 64)
		case "size":
			t.Size, _ = strconv.ParseInt(string(v), 10, 64)
		}
	}
	return nil, badRequest(`the form has no "file" field`)
}

func (a *API) completeBlob(w http.ResponseWriter, r *http.Request, s *accounts.Session) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		writeError(w, http.StatusNotFound, []string{"Resource not found"})
		return
	}
	var in struct {
		Size any `json:"size"`
		Blob struct {
			Size any `json:"size"`
		} `json:"blob"`
	}
	if err := decodeJSON(r, &in); err != nil {
		a.fail(w, r, err)
		return
	}
	size := jsonInt(in.Size)
	if size == 0 {
		size = jsonInt(in.Blob.Size)
	}
	if _, err := a.files.Complete(r.Context(), s.AppID, s.UserID, id, size); err != nil {
		a.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusOK)
}

func jsonInt(v any) int64 {
	switch x := v.(type) {
	case float64:
		return int64(x)
	case string:
		n, _ := strconv.ParseInt(x, 10, 64)
		return n
	case json.Number:
		n, _ := x.Int64()
		return n
	}
	return 0
}

func (a *API) listBlobs(w http.ResponseWriter, r *http.Request, s *accounts.Session) {
	q := r.URL.Query()
	page, err := intParam(q, "current_page", 1)
	if err == nil {
		var per int
		per, err = intParam(q, "per_page", 10)
		if err == nil {
			list, total, err := a.files.List(r.Context(), s.AppID, s.UserID, page, per)
			if err != nil {
				a.fail(w, r, err)
				return
			}
			items := make([]any, len(list))
			for i := range list {
				items[i] = map[string]any{"blob": blobJSON(&list[i])}
			}
			writeJSON(w, http.StatusOK, map[string]any{"current_page": max(page, 1), "per_page": min(max(per, 1), 100), "total_entries": total, "items": items})
			return
		}
	}
	a.fail(w, r, err)
}

// getBlob serves GET /blobs/<id|uid>.json (the record, or a rename when
// blob[name] is given: the SDK's update) and GET /blobs/<uid> (the bytes).
func (a *API) getBlob(w http.ResponseWriter, r *http.Request) {
	file := r.PathValue("file")
	if id, ok := strings.CutSuffix(file, ".json"); ok {
		a.user(func(w http.ResponseWriter, r *http.Request, s *accounts.Session) {
			if name := r.URL.Query().Get("blob[name]"); name != "" {
				a.rename(w, r, s, id, name)
				return
			}
			b, err := a.files.Info(r.Context(), s.AppID, s.UserID, id)
			if err != nil {
				a.fail(w, r, err)
				return
			}
			writeJSON(w, http.StatusOK, map[string]any{"blob": blobJSON(b)})
		})(w, r)
		return
	}
	a.download(w, r, file)
}

// download serves a blob's bytes: anyone a public one, the holder of a
// session token (?token= or CB-Token) one they may read. Ranges,
// conditional requests and caching come from http.ServeContent and the
// blob's fixed ETag.
func (a *API) download(w http.ResponseWriter, r *http.Request, uid string) {
	var viewer, app int64
	tok := r.URL.Query().Get("token")
	if tok == "" {
		tok = r.Header.Get("CB-Token")
	}
	if tok != "" {
		s, err := a.accounts.SessionByToken(r.Context(), tok)
		if err != nil {
			writeError(w, http.StatusUnauthorized, map[string][]string{"base": {"Required session does not exist"}})
			return
		}
		viewer, app = s.UserID, s.AppID
	}
	if r.URL.Query().Get("size") != "preview" {
		if u, err := a.files.DownloadURL(r.Context(), viewer, app, uid); err != nil {
			a.fail(w, r, err)
			return
		} else if u != "" {
			w.Header().Set("Cache-Control", "private, no-store")
			http.Redirect(w, r, u, http.StatusFound)
			return
		}
	}
	open, etag := a.files.Open, ""
	if r.URL.Query().Get("size") == "preview" {
		open, etag = a.files.OpenPreview, "-p"
	}
	b, c, err := open(r.Context(), viewer, app, uid)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	defer c.Close()
	h := w.Header()
	ct := b.ContentType
	if etag != "" { // a preview is JPEG or PNG, whatever the original
		head := make([]byte, 512)
		n, _ := io.ReadFull(c, head)
		c.Seek(0, io.SeekStart)
		ct = http.DetectContentType(head[:n])
	}
	h.Set("Content-Type", ct)
	h.Set("ETag", strings.TrimSuffix(b.ETag(), `"`)+etag+`"`)
	h.Set("X-Content-Type-Options", "nosniff")
	// User content never runs as this origin's page.
	h.Set("Content-Security-Policy", "sandbox; default-src 'none'; img-src 'self'; media-src 'self'; style-src 'unsafe-inline'")
	disp := "attachment"
	if fam := b.ContentType[:strings.IndexByte(b.ContentType, '/')]; fam == "image" && b.ContentType != "image/svg+xml" || fam == "audio" || fam == "video" {
		disp = "inline"
	}
	h.Set("Content-Disposition", mime.FormatMediaType(disp, map[string]string{"filename": b.Name}))
	if b.Public {
		h.Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		h.Set("Cache-Control", "private, max-age=3600")
	}
	http.ServeContent(w, r, "", b.UpdatedAt, c)
}

func (a *API) rename(w http.ResponseWriter, r *http.Request, s *accounts.Session, id, name string) {
	n, err := strconv.ParseInt(id, 10, 64)
	if err != nil {
		writeError(w, http.StatusNotFound, []string{"Resource not found"})
		return
	}
	b, err := a.files.Rename(r.Context(), s.AppID, s.UserID, n, name)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"blob": blobJSON(b)})
}

// renameBlob is PUT /blobs/<id>.json with {"blob":{"name"}}, the documented
// form of the SDK's update.
func (a *API) renameBlob(w http.ResponseWriter, r *http.Request, s *accounts.Session) {
	var in struct {
		Blob struct {
			Name string `json:"name"`
		} `json:"blob"`
	}
	if err := decodeJSON(r, &in); err != nil {
		a.fail(w, r, err)
		return
	}
	a.rename(w, r, s, pathValue(r, "file"), in.Blob.Name)
}

func (a *API) deleteBlob(w http.ResponseWriter, r *http.Request, s *accounts.Session) {
	id, err := strconv.ParseInt(pathValue(r, "file"), 10, 64)
	if err != nil {
		writeError(w, http.StatusNotFound, []string{"Resource not found"})
		return
	}
	if err := a.files.Delete(r.Context(), s.AppID, s.UserID, id); err != nil {
		if errors.Is(err, files.ErrForbidden) {
			err = files.ErrNotFound // someone else's blob is not yours to know of
		}
		a.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusOK)
}
