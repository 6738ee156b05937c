// Package avatar turns an uploaded picture into the two square sizes Quire
// serves. It accepts PNG, JPEG, GIF and WebP, checks the declared dimensions
// before decoding (so a small file claiming 20,000 x 20,000 pixels is refused
// without allocating them), decodes with the format's own decoder chosen by
// its magic bytes (no global format registry), honours the JPEG EXIF
// orientation, center-crops, downscales with Catmull-Rom and re-encodes -
// which drops every byte of metadata (EXIF, GPS, comments) the upload had.
package avatar

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"image/png"
	"io"

	"golang.org/x/image/draw"
	"golang.org/x/image/webp"
)

// Limits and output sizes.
const (
	MaxBytes  = 2 << 20    // largest accepted upload (2 MB)
	MaxSide   = 4096       // largest accepted width or height
	MaxPixels = 16_000_000 // largest accepted width x height (16 megapixels)
	Large     = 256        // side of the large output
	Small     = 64         // side of the small output
)

// Errors a caller shows to the uploader; see Message.
var (
	ErrEmpty      = errors.New("avatar: empty file")
	ErrTooLarge   = errors.New("avatar: file larger than 2 MB")
	ErrFormat     = errors.New("avatar: not a PNG, JPEG, GIF or WebP image")
	ErrDimensions = errors.New("avatar: image dimensions too large")
	ErrCorrupt    = errors.New("avatar: damaged or incomplete image")
)

// Message is the text to show an uploader for err.
func Message(err error) string {
	switch {
	case errors.Is(err, ErrEmpty):
		return "The file is empty. Choose an image file."
	case errors.Is(err, ErrTooLarge):
		return "The image is larger than 2 MB. Choose a smaller file."
	case errors.Is(err, ErrFormat):
		return "That file is not an image Quire can read. Use a PNG, JPEG, GIF or WebP file."
	case errors.Is(err, ErrDimensions):
		return fmt.Sprintf("The image is too big in pixels (at most %d x %d and %d megapixels). Resize it and try again.",
			MaxSide, MaxSide, MaxPixels/1_000_000)
	case errors.Is(err, ErrCorrupt):
		return "The image is damaged or incomplete (perhaps the upload was cut off). Try another file."
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return "The image took too long to process. Please try again."
	}
	return "The image could not be processed."
}

// Result is a processed avatar. Both sizes share ContentType: JPEG when the
// picture is fully opaque, PNG when it has transparency.
type Result struct {
	ContentType string
	Small       []byte // Small x Small
	Large       []byte // Large x Large
	Format      string // the upload's format: png, jpeg, gif or webp
	Width       int    // the upload's dimensions
	Height      int
}

// Processor decodes and resizes avatars, at most a few at a time: a decoded
// 16-megapixel image takes 64 MB, so concurrency is what bounds memory.
type Processor struct {
	sem chan struct{}
}

// New returns a Processor running at most maxConcurrent decodes at once
// (default 2).
func New(maxConcurrent int) *Processor {
	if maxConcurrent <= 0 {
		maxConcurrent = 2
	}
	return &Processor{sem: make(chan struct{}, maxConcurrent)}
}

// ReadUpload reads an uploaded file, refusing more than MaxBytes without
// reading further.
func ReadUpload(r io.Reader) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxBytes+1))
	if err != nil {
		return nil, fmt.Errorf("avatar: read upload: %w", err)
	}
	if len(data) > MaxBytes {
		return nil, ErrTooLarge
	}
	return data, nil
}

type format struct {
	name         string
	decodeConfig func(io.Reader) (image.Config, error)
	decode       func(io.Reader) (image.Image, error)
}

// sniff picks the decoder from the file's magic bytes; the file name and the
// browser's Content-Type are not trusted.
func sniff(b []byte) (format, bool) {
	switch {
	case bytes.HasPrefix(b, []byte("\x89PNG\r\n\x1a\n")):
		return format{"png", png.DecodeConfig, png.Decode}, true
	case bytes.HasPrefix(b, []byte("\xff\xd8\xff")):
		return format{"jpeg", jpeg.DecodeConfig, jpeg.Decode}, true
	case bytes.HasPrefix(b, []byte("GIF87a")), bytes.HasPrefix(b, []byte("GIF89a")):
		return format{"gif", gif.DecodeConfig, gif.Decode}, true
	case len(b) >= 12 && string(b[:4]) == "RIFF" && string(b[8:12]) == "WEBP":
		return format{"webp", webp.DecodeConfig, webp.Decode}, true
	}
	return format{}, false
}

// check validates an upload without decoding its pixels: size, format and
// declared dimensions.
func check(data []byte) (format, image.Config, error) {
	switch {
	case len(data) == 0:
		return format{}, image.Config{}, ErrEmpty
	case len(data) > MaxBytes:
		return format{}, image.Config{}, ErrTooLarge
	}
	f, ok := sniff(data)
	if !ok {
		return format{}, image.Config{}, ErrFormat
	}
	cfg, err := f.decodeConfig(bytes.NewReader(data))
	switch {
	case err != nil:
		return f, cfg, fmt.Errorf("%w: %s header: %v", ErrCorrupt, f.name, err)
	case cfg.Width <= 0 || cfg.Height <= 0:
		return f, cfg, fmt.Errorf("%w: %dx%d pixels", ErrCorrupt, cfg.Width, cfg.Height)
	case cfg.Width > MaxSide || cfg.Height > MaxSide || int64(cfg.Width)*int64(cfg.Height) > MaxPixels:
		return f, cfg, fmt.Errorf("%w: %dx%d pixels", ErrDimensions, cfg.Width, cfg.Height)
	}
	return f, cfg, nil
}

// Process validates data, decodes it and returns the two re-encoded sizes.
// It waits for a free slot (or ctx) before decoding.
func (p *Processor) Process(ctx context.Context, data []byte) (Result, error) {
	f, cfg, err := check(data)
	if err != nil {
		return Result{}, err
	}
	select {
	case p.sem <- struct{}{}:
		defer func() { <-p.sem }()
	case <-ctx.Done():
		return Result{}, fmt.Errorf("avatar: %w", ctx.Err())
	}
	src, err := decode(f, data)
	if err != nil {
		return Result{}, err
	}
	b := src.Bounds()
	if b.Dx() != cfg.Width || b.Dy() != cfg.Height {
		return Result{}, fmt.Errorf("%w: header says %dx%d, image is %dx%d", ErrCorrupt, cfg.Width, cfg.Height, b.Dx(), b.Dy())
	}
	orient := 1
	if f.name == "jpeg" {
		orient = jpegOrientation(data)
	}
	large := reorient(scale(fastSource(src), squareCenter(b), Large), orient)
	small := scale(large, large.Bounds(), Small)

	res := Result{Format: f.name, Width: cfg.Width, Height: cfg.Height}
	enc := encodePNG
	res.ContentType = "image/png"
	if large.Opaque() {
		enc = encodeJPEG
		res.ContentType = "image/jpeg"
	}
	if res.Large, err = enc(large); err != nil {
		return Result{}, err
	}
	if res.Small, err = enc(small); err != nil {
		return Result{}, err
	}
	return res, nil
}

// decode runs the format's decoder; a decoder panic on hostile input is
// reported as a damaged image instead of taking the request down.
func decode(f format, data []byte) (img image.Image, err error) {
	defer func() {
		if r := recover(); r != nil {
			img, err = nil, fmt.Errorf("%w: %s decoder: %v", ErrCorrupt, f.name, r)
		}
	}()
	img, err = f.decode(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrCorrupt, f.name, err)
	}
	return img, nil
}

// squareCenter is the largest square centered in r.
func squareCenter(r image.Rectangle) image.Rectangle {
	side := min(r.Dx(), r.Dy())
	x0 := r.Min.X + (r.Dx()-side)/2
	y0 := r.Min.Y + (r.Dy()-side)/2
	return image.Rect(x0, y0, x0+side, y0+side)
}

// fastSource returns img as a type the scaler is fastest on (RGBA, or
// YCbCr and Gray, which it reads directly). Everything else - palette GIFs
// and PNGs, NRGBA PNGs and WebPs, 16-bit PNGs, CMYK JPEGs - is converted
// once: scaling reads each source pixel many times, and for a
// 16-megapixel upload the slower paths cost seconds.
func fastSource(img image.Image) image.Image {
	switch src := img.(type) {
	case *image.RGBA, *image.YCbCr, *image.Gray:
		return img
	case *image.Paletted:
		var lut [256]color.RGBA
		for i, c := range src.Palette {
			lut[i] = color.RGBAModel.Convert(c).(color.RGBA)
		}
		b := src.Bounds()
		dst := image.NewRGBA(b)
		for y := range b.Dy() {
			row := src.Pix[y*src.Stride : y*src.Stride+b.Dx()]
			out := dst.Pix[y*dst.Stride:]
			for x, p := range row {
				c := lut[p]
				out[4*x], out[4*x+1], out[4*x+2], out[4*x+3] = c.R, c.G, c.B, c.A
			}
		}
		return dst
	}
	dst := image.NewRGBA(img.Bounds())
	draw.Draw(dst, dst.Bounds(), img, img.Bounds().Min, draw.Src)
	return dst
}

// scale resamples the square sr of src to side x side with Catmull-Rom,
// which stays sharp without ringing much and, unlike nearest or bilinear,
// averages every source pixel when shrinking a lot.
func scale(src image.Image, sr image.Rectangle, side int) *image.RGBA {
	dst := image.NewRGBA(image.Rect(0, 0, side, side))
	draw.CatmullRom.Scale(dst, dst.Bounds(), src, sr, draw.Src, nil)
	return dst
}

func encodeJPEG(img image.Image) ([]byte, error) {
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: 88}); err != nil {
		return nil, fmt.Errorf("avatar: encode jpeg: %w", err)
	}
	return buf.Bytes(), nil
}

func encodePNG(img image.Image) ([]byte, error) {
	var buf bytes.Buffer
	enc := png.Encoder{CompressionLevel: png.BestCompression}
	if err := enc.Encode(&buf, img); err != nil {
		return nil, fmt.Errorf("avatar: encode png: %w", err)
	}
	return buf.Bytes(), nil
}
