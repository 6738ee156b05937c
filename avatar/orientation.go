package avatar

import (
	"encoding/binary"
	"image"
)

// jpegOrientation returns the EXIF orientation (1-8) of a JPEG, 1 when it
// has none or the EXIF block is malformed. Phones store pictures sideways
// and set this tag; re-encoding drops the tag, so the pixels must be turned.
func jpegOrientation(b []byte) int {
	i := 2 // after SOI
	for i+4 <= len(b) {
		if b[i] != 0xFF {
			return 1
		}
		marker := b[i+1]
		if marker == 0xFF { // fill byte
			i++
			continue
		}
		if marker == 0xDA || marker == 0xD9 { // start of scan, end of image: no EXIF before pixels
			return 1
		}
		n := int(binary.BigEndian.Uint16(b[i+2:]))
		if n < 2 || i+2+n > len(b) {
			return 1
		}
		seg := b[i+4 : i+2+n]
		if marker == 0xE1 && len(seg) > 6 && string(seg[:6]) == "Exif\x00\x00" {
			return tiffOrientation(seg[6:])
		}
		i += 2 + n
	}
	return 1
}

// tiffOrientation reads tag 0x0112 from IFD0 of a TIFF (EXIF) block.
func tiffOrientation(t []byte) int {
	if len(t) < 8 {
		return 1
	}
	var bo binary.ByteOrder
	switch string(t[:2]) {
	case "II":
		bo = binary.LittleEndian
	case "MM":
		bo = binary.BigEndian
	default:
		return 1
	}
	if bo.Uint16(t[2:]) != 42 {
		return 1
	}
	ifd := int(bo.Uint32(t[4:]))
	if ifd < 8 || ifd+2 > len(t) {
		return 1
	}
	count := int(bo.Uint16(t[ifd:]))
	for k := range count {
		e := ifd + 2 + 12*k
		if e+12 > len(t) {
			return 1
		}
		if bo.Uint16(t[e:]) != 0x0112 {
			continue
		}
		if bo.Uint16(t[e+2:]) != 3 { // SHORT
			return 1
		}
		if v := int(bo.Uint16(t[e+8:])); v >= 1 && v <= 8 {
			return v
		}
		return 1
	}
	return 1
}

// reorient turns a square image upright according to an EXIF orientation.
// On a square the center crop commutes with these turns, so applying them
// after cropping and scaling gives the same picture for far less work.
func reorient(src *image.RGBA, orientation int) *image.RGBA {
	if orientation <= 1 || orientation > 8 {
		return src
	}
	n := src.Bounds().Dx()
	dst := image.NewRGBA(image.Rect(0, 0, n, n))
	last := n - 1
	for y := range n {
		for x := range n {
			var sx, sy int
			switch orientation {
			case 2: // mirrored
				sx, sy = last-x, y
			case 3: // upside down
				sx, sy = last-x, last-y
			case 4: // mirrored upside down
				sx, sy = x, last-y
			case 5: // transposed
				sx, sy = y, x
			case 6: // needs a quarter turn clockwise
				sx, sy = y, last-x
			case 7: // transversed
				sx, sy = last-y, last-x
			case 8: // needs a quarter turn counter-clockwise
				sx, sy = last-y, x
			}
			si := src.PixOffset(sx, sy)
			di := dst.PixOffset(x, y)
			copy(dst.Pix[di:di+4], src.Pix[si:si+4])
		}
	}
	return dst
}
