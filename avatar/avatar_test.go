package avatar

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"image"
	"image/color"
	"image/color/palette"
	"image/gif"
	"image/jpeg"
	"image/png"
	"runtime"
	"strings"
	"testing"
	"time"
)

var (
	red  = color.NRGBA{R: 255, A: 255}
	blue = color.NRGBA{B: 255, A: 255}
	gone = color.NRGBA{} // fully transparent
)

// halves is a w x h picture, left half one color, right half the other.
func halves(w, h int, left, right color.NRGBA) *image.NRGBA {
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			c := left
			if x >= w/2 {
				c = right
			}
			img.SetNRGBA(x, y, c)
		}
	}
	return img
}

func encPNG(t *testing.T, img image.Image) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func encJPEG(t *testing.T, img image.Image) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, &jpeg.Options{Quality: 95}); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func encGIF(t *testing.T, img image.Image) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := gif.Encode(&b, img, &gif.Options{NumColors: 256}); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// encWebP writes a real lossless WebP (VP8L) file. The standard library and
// x/image have no WebP encoder, so this is the smallest valid one: no
// transforms, no color cache, and "simple" prefix codes, which allow up to
// two distinct values per channel - enough for two-color test pictures.
func encWebP(t *testing.T, img *image.NRGBA) []byte {
	t.Helper()
	b := img.Bounds()
	var channels [4][]uint8 // green, red, blue, alpha: the VP8L order
	val := func(c color.NRGBA, ch int) uint8 { return [4]uint8{c.G, c.R, c.B, c.A}[ch] }
	alphaUsed := uint32(0)
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			c := img.NRGBAAt(x, y)
			if c.A != 255 {
				alphaUsed = 1
			}
			for ch := range 4 {
				v := val(c, ch)
				if !bytes.Contains(channels[ch], []byte{v}) {
					channels[ch] = append(channels[ch], v)
				}
			}
		}
	}
	var w bitWriter
	w.write(0x2f, 8)
	w.write(uint32(b.Dx()-1), 14)
	w.write(uint32(b.Dy()-1), 14)
	w.write(alphaUsed, 1)
	w.write(0, 3) // version
	w.write(0, 1) // no transform
	w.write(0, 1) // no color cache
	w.write(0, 1) // no meta prefix codes
	for ch := range 4 {
		if len(channels[ch]) > 2 {
			t.Fatalf("encWebP: channel %d has %d values, at most 2 supported", ch, len(channels[ch]))
		}
		w.simpleCode(channels[ch])
	}
	w.simpleCode([]uint8{0}) // distance code, unused
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			c := img.NRGBAAt(x, y)
			for ch := range 4 {
				if len(channels[ch]) == 2 {
					w.write(uint32(bytes.IndexByte(channels[ch], val(c, ch))), 1)
				}
			}
		}
	}
	data := w.bytes()
	if len(data)%2 == 1 {
		data = append(data, 0)
	}
	return riff("VP8L", data)
}

func riff(fourcc string, chunk []byte) []byte {
	var out bytes.Buffer
	out.WriteString("RIFF")
	binary.Write(&out, binary.LittleEndian, uint32(4+8+len(chunk)))
	out.WriteString("WEBP")
	out.WriteString(fourcc)
	binary.Write(&out, binary.LittleEndian, uint32(len(chunk)))
	out.Write(chunk)
	return out.Bytes()
}

type bitWriter struct {
	buf []byte
	acc uint64
	n   uint
}

func (w *bitWriter) write(v uint32, n uint) {
	w.acc |= uint64(v) << w.n
	w.n += n
	for w.n >= 8 {
		w.buf = append(w.buf, byte(w.acc))
		w.acc >>= 8
		w.n -= 8
	}
}

func (w *bitWriter) simpleCode(symbols []uint8) {
	w.write(1, 1) // simple
	w.write(uint32(len(symbols)-1), 1)
	w.write(1, 1) // first symbol in 8 bits
	w.write(uint32(symbols[0]), 8)
	if len(symbols) == 2 {
		w.write(uint32(symbols[1]), 8)
	}
}

func (w *bitWriter) bytes() []byte {
	out := w.buf
	if w.n > 0 {
		out = append(out, byte(w.acc))
	}
	return out
}

// near reports whether c is within tol of want in every channel.
func near(c color.Color, want color.NRGBA, tol int) bool {
	n := color.NRGBAModel.Convert(c).(color.NRGBA)
	d := func(a, b uint8) bool { return max(int(a)-int(b), int(b)-int(a)) <= tol }
	return d(n.R, want.R) && d(n.G, want.G) && d(n.B, want.B) && d(n.A, want.A)
}

func decodeOut(t *testing.T, contentType string, data []byte) image.Image {
	t.Helper()
	var (
		img image.Image
		err error
	)
	switch contentType {
	case "image/png":
		if !bytes.HasPrefix(data, []byte("\x89PNG")) {
			t.Fatalf("content type %s but data starts %q", contentType, data[:8])
		}
		img, err = png.Decode(bytes.NewReader(data))
	case "image/jpeg":
		if !bytes.HasPrefix(data, []byte("\xff\xd8")) {
			t.Fatalf("content type %s but data starts %q", contentType, data[:8])
		}
		img, err = jpeg.Decode(bytes.NewReader(data))
	default:
		t.Fatalf("unexpected content type %q", contentType)
	}
	if err != nil {
		t.Fatalf("output does not decode: %v", err)
	}
	return img
}

func TestProcessFormats(t *testing.T) {
	t.Parallel()
	// 40 x 30: the center crop keeps x 5..34, so the left half of the
	// output is red and the right half blue.
	opaque := halves(40, 30, red, blue)
	clear := halves(40, 30, red, gone)
	tests := []struct {
		name       string
		data       []byte
		format     string
		wantType   string
		left, rght color.NRGBA
		tol        int
	}{
		{"png", encPNG(t, opaque), "png", "image/jpeg", red, blue, 40},
		{"png with transparency", encPNG(t, clear), "png", "image/png", red, gone, 8},
		{"jpeg", encJPEG(t, opaque), "jpeg", "image/jpeg", red, blue, 40},
		{"gif", encGIF(t, opaque), "gif", "image/jpeg", red, blue, 40},
		{"webp", encWebP(t, opaque), "webp", "image/jpeg", red, blue, 40},
		{"webp with transparency", encWebP(t, clear), "webp", "image/png", red, gone, 8},
	}
	p := New(2)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			res, err := p.Process(t.Context(), tt.data)
			if err != nil {
				t.Fatalf("Process: %v", err)
			}
			if res.Format != tt.format || res.Width != 40 || res.Height != 30 || res.ContentType != tt.wantType {
				t.Errorf("result %s %dx%d %s; want %s 40x30 %s", res.Format, res.Width, res.Height, res.ContentType,
					tt.format, tt.wantType)
			}
			for _, out := range []struct {
				data []byte
				side int
			}{{res.Large, Large}, {res.Small, Small}} {
				img := decodeOut(t, res.ContentType, out.data)
				if b := img.Bounds(); b.Dx() != out.side || b.Dy() != out.side {
					t.Fatalf("output %v, want %dx%d", b, out.side, out.side)
				}
				q := out.side / 4
				if c := img.At(q, out.side/2); !near(c, tt.left, tt.tol) {
					t.Errorf("%dpx left = %v, want ~%v", out.side, c, tt.left)
				}
				if c := img.At(3*q, out.side/2); !near(c, tt.rght, tt.tol) {
					t.Errorf("%dpx right = %v, want ~%v", out.side, c, tt.rght)
				}
			}
		})
	}
}

// exifJPEG inserts an APP1 EXIF block with the given orientation and a
// text tag after the JPEG's SOI marker.
func exifJPEG(jpg []byte, orientation uint16, text string) []byte {
	var tiff bytes.Buffer
	be := binary.BigEndian
	tiff.WriteString("MM")
	binary.Write(&tiff, be, uint16(42))
	binary.Write(&tiff, be, uint32(8)) // IFD0 offset
	binary.Write(&tiff, be, uint16(2)) // entries
	binary.Write(&tiff, be, uint16(0x0112))
	binary.Write(&tiff, be, uint16(3)) // SHORT
	binary.Write(&tiff, be, uint32(1))
	binary.Write(&tiff, be, orientation)
	binary.Write(&tiff, be, uint16(0))
	textOff := uint32(8 + 2 + 2*12 + 4)
	binary.Write(&tiff, be, uint16(0x010E)) // ImageDescription
	binary.Write(&tiff, be, uint16(2))      // ASCII
	binary.Write(&tiff, be, uint32(len(text)+1))
	binary.Write(&tiff, be, textOff)
	binary.Write(&tiff, be, uint32(0)) // no next IFD
	tiff.WriteString(text)
	tiff.WriteByte(0)
	seg := append([]byte("Exif\x00\x00"), tiff.Bytes()...)
	var out bytes.Buffer
	out.Write(jpg[:2])
	out.Write([]byte{0xFF, 0xE1})
	binary.Write(&out, be, uint16(len(seg)+2))
	out.Write(seg)
	out.Write(jpg[2:])
	return out.Bytes()
}

// pngWithText adds a tEXt chunk right after IHDR.
func pngWithText(p []byte, text string) []byte {
	const ihdrEnd = 8 + 4 + 4 + 13 + 4
	return append(append(append([]byte{}, p[:ihdrEnd]...), pngChunk("tEXt", []byte("Comment\x00"+text))...), p[ihdrEnd:]...)
}

func pngChunk(typ string, data []byte) []byte {
	var b bytes.Buffer
	binary.Write(&b, binary.BigEndian, uint32(len(data)))
	b.WriteString(typ)
	b.Write(data)
	binary.Write(&b, binary.BigEndian, crc32.ChecksumIEEE(append([]byte(typ), data...)))
	return b.Bytes()
}

func TestProcessStripsMetadata(t *testing.T) {
	t.Parallel()
	const secret = "GPS 51.5007N 0.1246W home address"
	img := halves(32, 32, red, blue)
	tests := []struct {
		name string
		data []byte
	}{
		{"jpeg exif", exifJPEG(encJPEG(t, img), 1, secret)},
		{"png text", pngWithText(encPNG(t, img), secret)},
	}
	p := New(1)
	for _, tt := range tests {
		if !bytes.Contains(tt.data, []byte(secret)) {
			t.Fatalf("%s: test input lacks the metadata", tt.name)
		}
		res, err := p.Process(t.Context(), tt.data)
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		for _, out := range [][]byte{res.Large, res.Small} {
			if bytes.Contains(out, []byte(secret)) || bytes.Contains(out, []byte("Exif")) || bytes.Contains(out, []byte("tEXt")) {
				t.Errorf("%s: metadata survived re-encoding", tt.name)
			}
		}
	}
}

func TestProcessOrientation(t *testing.T) {
	t.Parallel()
	// Stored sideways: left red, right blue. Orientation 6 means "turn a
	// quarter clockwise to view", which puts the left (red) edge on top.
	src := encJPEG(t, halves(64, 64, red, blue))
	tests := []struct {
		orientation            uint16
		topL, topR, botL, botR color.NRGBA
	}{
		{1, red, blue, red, blue}, // as stored
		{6, red, red, blue, blue}, // left edge on top
		{8, blue, blue, red, red}, // left edge at the bottom
		{3, blue, red, blue, red}, // upside down
	}
	p := New(1)
	for _, tt := range tests {
		res, err := p.Process(t.Context(), exifJPEG(src, tt.orientation, "x"))
		if err != nil {
			t.Fatal(err)
		}
		img := decodeOut(t, res.ContentType, res.Large)
		got := []color.Color{img.At(64, 64), img.At(192, 64), img.At(64, 192), img.At(192, 192)}
		want := []color.NRGBA{tt.topL, tt.topR, tt.botL, tt.botR}
		for i := range got {
			if !near(got[i], want[i], 40) {
				t.Errorf("orientation %d quadrant %d = %v, want ~%v", tt.orientation, i, got[i], want[i])
			}
		}
	}
}

func TestReorient(t *testing.T) {
	t.Parallel()
	// 2x2 with four marks: a b / c d.
	a, b, c, d := color.RGBA{1, 0, 0, 255}, color.RGBA{2, 0, 0, 255}, color.RGBA{3, 0, 0, 255}, color.RGBA{4, 0, 0, 255}
	src := image.NewRGBA(image.Rect(0, 0, 2, 2))
	src.SetRGBA(0, 0, a)
	src.SetRGBA(1, 0, b)
	src.SetRGBA(0, 1, c)
	src.SetRGBA(1, 1, d)
	// What an upright viewer sees (row-major) for each EXIF orientation.
	tests := map[int][4]color.RGBA{
		1: {a, b, c, d},
		2: {b, a, d, c},
		3: {d, c, b, a},
		4: {c, d, a, b},
		5: {a, c, b, d},
		6: {c, a, d, b},
		7: {d, b, c, a},
		8: {b, d, a, c},
		9: {a, b, c, d}, // invalid: unchanged
	}
	for o, want := range tests {
		got := reorient(src, o)
		have := [4]color.RGBA{got.RGBAAt(0, 0), got.RGBAAt(1, 0), got.RGBAAt(0, 1), got.RGBAAt(1, 1)}
		if have != want {
			t.Errorf("orientation %d: %v, want %v", o, have, want)
		}
	}
}

func TestJPEGOrientationMalformed(t *testing.T) {
	t.Parallel()
	good := exifJPEG(encJPEG(t, halves(8, 8, red, blue)), 6, "x")
	if o := jpegOrientation(good); o != 6 {
		t.Fatalf("orientation = %d, want 6", o)
	}
	// Every truncation of the EXIF block reads as "no orientation" or the
	// real value, never a panic or garbage.
	for n := 0; n < 120 && n < len(good); n++ {
		if o := jpegOrientation(good[:n]); o != 1 && o != 6 {
			t.Errorf("truncated at %d: orientation %d", n, o)
		}
	}
}

// headerOnly builds files that declare w x h pixels and carry no pixel
// data: decompression bombs if decoded.
func headerOnly(format string, w, h int) []byte {
	var b bytes.Buffer
	switch format {
	case "png":
		b.WriteString("\x89PNG\r\n\x1a\n")
		var ihdr bytes.Buffer
		binary.Write(&ihdr, binary.BigEndian, uint32(w))
		binary.Write(&ihdr, binary.BigEndian, uint32(h))
		ihdr.Write([]byte{8, 6, 0, 0, 0}) // 8-bit RGBA
		b.Write(pngChunk("IHDR", ihdr.Bytes()))
		b.Write(pngChunk("IDAT", []byte{0x78, 0x9c})) // the start of a zlib stream
	case "gif":
		b.WriteString("GIF89a")
		binary.Write(&b, binary.LittleEndian, uint16(w))
		binary.Write(&b, binary.LittleEndian, uint16(h))
		b.Write([]byte{0, 0, 0})
	case "jpeg":
		b.Write([]byte{0xFF, 0xD8, 0xFF, 0xC0, 0, 17, 8})
		binary.Write(&b, binary.BigEndian, uint16(h))
		binary.Write(&b, binary.BigEndian, uint16(w))
		b.Write([]byte{3, 1, 0x22, 0, 2, 0x11, 1, 3, 0x11, 1})
		b.Write([]byte{0xFF, 0xDA, 0, 12, 3, 1, 0, 2, 0x11, 3, 0x11, 0, 63, 0}) // start of scan, no scan data
	case "webp":
		var bw bitWriter
		bw.write(0x2f, 8)
		bw.write(uint32(w-1), 14)
		bw.write(uint32(h-1), 14)
		bw.write(0, 4)
		return riff("VP8L", append(bw.bytes(), 0, 0))
	}
	return b.Bytes()
}

// The 20,000 x 20,000 bomb (1.6 GB as RGBA) is refused from its header:
// quickly and without allocating anything near the image.
func TestProcessRejectsBombsWithoutAllocating(t *testing.T) {
	// Not parallel: it measures this goroutine's allocations.
	p := New(1)
	tests := []struct {
		format string
		w, h   int
	}{
		{"png", 20000, 20000},
		{"gif", 20000, 20000},
		{"jpeg", 20000, 20000},
		{"webp", 16384, 16384}, // VP8L's largest
		{"png", MaxSide + 1, 1},
		{"png", 1, MaxSide + 1},
		{"png", 4000, 4001}, // within MaxSide, over MaxPixels
	}
	for _, tt := range tests {
		data := headerOnly(tt.format, tt.w, tt.h)
		if f, cfg, err := check(data); f.name != tt.format || (err == nil && (cfg.Width != tt.w || cfg.Height != tt.h)) {
			t.Fatalf("%s test file misread: %s %dx%d", tt.format, f.name, cfg.Width, cfg.Height)
		}
		runtime.GC()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		start := time.Now()
		_, err := p.Process(t.Context(), data)
		elapsed := time.Since(start)
		runtime.ReadMemStats(&after)
		if !errors.Is(err, ErrDimensions) {
			t.Errorf("%s %dx%d: err = %v, want ErrDimensions", tt.format, tt.w, tt.h, err)
		}
		if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 1<<20 {
			t.Errorf("%s %dx%d: allocated %d bytes before refusing", tt.format, tt.w, tt.h, alloc)
		}
		if elapsed > time.Second {
			t.Errorf("%s %dx%d: took %v to refuse", tt.format, tt.w, tt.h, elapsed)
		}
	}
	// The largest accepted sizes pass the header check.
	for _, ok := range [][2]int{{MaxSide, 1}, {1, MaxSide}, {4000, 4000}} {
		if _, _, err := check(headerOnly("png", ok[0], ok[1])); err != nil {
			t.Errorf("%dx%d refused: %v", ok[0], ok[1], err)
		}
	}
}

func TestProcessRejects(t *testing.T) {
	t.Parallel()
	img := halves(24, 24, red, blue)
	full := map[string][]byte{
		"png": encPNG(t, img), "jpeg": encJPEG(t, img), "gif": encGIF(t, img), "webp": encWebP(t, img),
	}
	tests := []struct {
		name string
		data []byte
		want error
	}{
		{"empty", nil, ErrEmpty},
		{"text file renamed .png", []byte("hello, this is not a picture\nreally\n"), ErrFormat},
		{"html", []byte("<!doctype html><svg onload=alert(1)>"), ErrFormat},
		{"svg", []byte(`<svg xmlns="http://www.w3.org/2000/svg"/>`), ErrFormat},
		{"bmp", append([]byte("BM"), make([]byte, 60)...), ErrFormat},
		{"png magic then garbage", append([]byte("\x89PNG\r\n\x1a\n"), strings.Repeat("junk", 20)...), ErrCorrupt},
		{"over 2 MB", append(append([]byte{}, full["png"]...), make([]byte, MaxBytes)...), ErrTooLarge},
		{"zero width", headerOnly("png", 0, 10), ErrCorrupt},
	}
	for f, data := range full {
		tests = append(tests,
			struct {
				name string
				data []byte
				want error
			}{"truncated " + f, data[:len(data)/2], ErrCorrupt},
			struct {
				name string
				data []byte
				want error
			}{"header only " + f, data[:min(len(data), 30)], ErrCorrupt},
		)
	}
	p := New(1)
	for _, tt := range tests {
		_, err := p.Process(t.Context(), tt.data)
		if !errors.Is(err, tt.want) {
			t.Errorf("%s: err = %v, want %v", tt.name, err, tt.want)
		}
		if msg := Message(err); msg == "" || strings.Contains(msg, "avatar:") {
			t.Errorf("%s: message %q is not for people", tt.name, msg)
		}
	}
	// The untruncated files are fine, so the failures above are the cuts.
	for f, data := range full {
		if _, err := p.Process(t.Context(), data); err != nil {
			t.Errorf("full %s: %v", f, err)
		}
	}
}

func TestReadUpload(t *testing.T) {
	t.Parallel()
	tests := []struct {
		size int
		want error
	}{{0, nil}, {MaxBytes, nil}, {MaxBytes + 1, ErrTooLarge}, {3 * MaxBytes, ErrTooLarge}}
	for _, tt := range tests {
		data, err := ReadUpload(bytes.NewReader(make([]byte, tt.size)))
		if !errors.Is(err, tt.want) || (err == nil && len(data) != tt.size) {
			t.Errorf("ReadUpload(%d bytes) = %d bytes, %v; want %v", tt.size, len(data), err, tt.want)
		}
	}
}

func TestProcessWaitsForSlot(t *testing.T) {
	t.Parallel()
	p := New(1)
	p.sem <- struct{}{} // the only slot is busy
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	_, err := p.Process(ctx, encPNG(t, halves(8, 8, red, blue)))
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Process with no free slot = %v, want DeadlineExceeded", err)
	}
	<-p.sem
	if _, err := p.Process(t.Context(), encPNG(t, halves(8, 8, red, blue))); err != nil {
		t.Fatalf("Process after the slot freed: %v", err)
	}
}

// A photo at the largest accepted size is processed in reasonable time.
func TestProcessLargestImage(t *testing.T) {
	t.Parallel()
	img := image.NewPaletted(image.Rect(0, 0, 4000, 4000), palette.Plan9)
	for i := range img.Pix {
		img.Pix[i] = uint8(i / 4000 / 50) // bands of 50 rows: compresses well
	}
	data := encPNG(t, img)
	if len(data) > MaxBytes {
		t.Fatalf("test image is %d bytes, over the upload limit", len(data))
	}
	start := time.Now()
	res, err := New(1).Process(t.Context(), data)
	if err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 20*time.Second {
		t.Errorf("4000x4000 took %v", d)
	}
	if res.Width != 4000 || len(res.Large) == 0 || len(res.Small) == 0 {
		t.Errorf("result %+v", res)
	}
}
