package files

import (
	"bytes"
	"context"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"io"

	"golang.org/x/image/draw"
	_ "golang.org/x/image/webp" // WebP uploads decode for their dimensions and previews
)

// PreviewSize bounds a preview's width and height, in pixels.
const PreviewSize = 320

// maxPreviewPixels bounds the images a preview is made of: decoding takes
// four bytes a pixel, so larger ones are stored without a preview.
const maxPreviewPixels = 16_000_000

// previewSlots bounds the previews made at once (each holds a decoded image).
var previewSlots = make(chan struct{}, 2)

// PreviewKey is where a blob's preview is kept.
func PreviewKey(uid string) string { return uid + "-p" }

// makePreview stores a bounded-size preview of an image blob: JPEG for
// photos, PNG for images that may be transparent. Images too large to
// decode safely, or in a format not decoded here, get none.
func (s *Service) makePreview(ctx context.Context, b *Blob) {
	if int64(b.Width)*int64(b.Height) > maxPreviewPixels || b.Width == 0 {
		return
	}
	previewSlots <- struct{}{}
	defer func() { <-previewSlots }()
	c, err := s.bytes.Open(ctx, b.UID)
	if err != nil {
		return
	}
	img, format, err := image.Decode(io.LimitReader(c, s.Limits().MaxSize))
	c.Close()
	if err != nil {
		return
	}
	w, h := b.Width, b.Height
	if w > PreviewSize || h > PreviewSize {
		if w >= h {
			w, h = PreviewSize, max(1, h*PreviewSize/w)
		} else {
			w, h = max(1, w*PreviewSize/h), PreviewSize
		}
	}
	var out bytes.Buffer
	if format == "png" || format == "gif" {
		dst := image.NewNRGBA(image.Rect(0, 0, w, h))
		draw.CatmullRom.Scale(dst, dst.Bounds(), img, img.Bounds(), draw.Src, nil)
		err = png.Encode(&out, dst)
	} else {
		dst := image.NewRGBA(image.Rect(0, 0, w, h))
		draw.Draw(dst, dst.Bounds(), image.NewUniform(color.White), image.Point{}, draw.Src)
		draw.CatmullRom.Scale(dst, dst.Bounds(), img, img.Bounds(), draw.Over, nil)
		err = jpeg.Encode(&out, dst, &jpeg.Options{Quality: 82})
	}
	if err != nil {
		return
	}
	s.bytes.Write(ctx, PreviewKey(b.UID), &out, int64(out.Len()))
}

// OpenPreview reads a blob's preview for viewer, under the blob's rights.
func (s *Service) OpenPreview(ctx context.Context, viewer, viewerApp int64, uid string) (*Blob, Content, error) {
	b, c, err := s.Open(ctx, viewer, viewerApp, uid)
	if err != nil {
		return nil, nil, err
	}
	c.Close()
	p, err := s.bytes.Open(ctx, PreviewKey(uid))
	if err != nil {
		return nil, nil, err
	}
	return b, p, nil
}
