package inference

import (
	"bytes"
	"encoding/binary"
	"errors"
	"image"
	"image/color"
	"image/jpeg"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// markedJPEG encodes a 48x32 grey JPEG with a red block in its top-left
// corner and a blue block in its top-right corner, with an EXIF orientation
// spliced in after SOI.
func markedJPEG(t *testing.T, orientation int) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 48, 32))
	for y := range 32 {
		for x := range 48 {
			c := color.RGBA{128, 128, 128, 255}
			switch {
			case x < 16 && y < 16:
				c = color.RGBA{255, 0, 0, 255}
			case x >= 32 && y < 16:
				c = color.RGBA{0, 0, 255, 255}
			}
			img.Set(x, y, c)
		}
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: 95}); err != nil {
		t.Fatalf("encoding: %v", err)
	}
	return spliceEXIF(buf.Bytes(), exifWithOrientation(binary.BigEndian, orientation))
}

// exifWithOrientation builds an APP1 EXIF payload with one IFD entry.
func exifWithOrientation(order binary.ByteOrder, orientation int) []byte {
	tiff := make([]byte, 8+2+12+4)
	if order == binary.BigEndian {
		copy(tiff, "MM\x00*")
	} else {
		copy(tiff, "II*\x00")
	}
	order.PutUint32(tiff[4:], 8)
	order.PutUint16(tiff[8:], 1)
	order.PutUint16(tiff[10:], exifOrientationTag)
	order.PutUint16(tiff[12:], 3)
	order.PutUint32(tiff[14:], 1)
	order.PutUint16(tiff[18:], uint16(orientation))
	return append([]byte("Exif\x00\x00"), tiff...)
}

func spliceEXIF(jpegData, payload []byte) []byte {
	seg := []byte{0xff, markerAPP1, 0, 0}
	binary.BigEndian.PutUint16(seg[2:], uint16(len(payload)+2))
	out := append([]byte{}, jpegData[:2]...)
	out = append(out, seg...)
	out = append(out, payload...)
	return append(out, jpegData[2:]...)
}

// cornerColors names the marks found at the four corners of img: "red",
// "blue" or "".
func cornerColors(img image.Image) [4]string {
	b := img.Bounds()
	at := func(x, y int) string {
		r, g, bl, _ := img.At(x, y).RGBA()
		switch {
		case r > 0xc000 && g < 0x4000 && bl < 0x4000:
			return "red"
		case bl > 0xc000 && r < 0x4000 && g < 0x4000:
			return "blue"
		}
		return ""
	}
	return [4]string{
		at(b.Min.X+4, b.Min.Y+4), at(b.Max.X-5, b.Min.Y+4),
		at(b.Min.X+4, b.Max.Y-5), at(b.Max.X-5, b.Max.Y-5),
	}
}

func TestDecodeImageAppliesEveryOrientation(t *testing.T) {
	t.Parallel()
	// Corners are top-left, top-right, bottom-left, bottom-right.
	cases := []struct {
		name        string
		orientation int
		corners     [4]string
		wide        bool
	}{
		{"orientation 1 leaves the image as stored", 1, [4]string{"red", "blue", "", ""}, true},
		{"orientation 2 mirrors left to right", 2, [4]string{"blue", "red", "", ""}, true},
		{"orientation 3 turns it half round", 3, [4]string{"", "", "blue", "red"}, true},
		{"orientation 4 mirrors top to bottom", 4, [4]string{"", "", "red", "blue"}, true},
		{"orientation 5 transposes", 5, [4]string{"red", "", "blue", ""}, false},
		{"orientation 6 turns a quarter clockwise", 6, [4]string{"", "red", "", "blue"}, false},
		{"orientation 7 transverses", 7, [4]string{"", "blue", "", "red"}, false},
		{"orientation 8 turns a quarter anticlockwise", 8, [4]string{"blue", "", "red", ""}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			img, info, err := DecodeImage(markedJPEG(t, tc.orientation), 0)
			if err != nil {
				t.Fatalf("decoding: %v", err)
			}
			wantW, wantH := 48, 32
			if !tc.wide {
				wantW, wantH = 32, 48
			}
			if info.Orientation != tc.orientation {
				t.Fatalf("orientation %d, want %d", info.Orientation, tc.orientation)
			}
			if b := img.Bounds(); b.Dx() != wantW || b.Dy() != wantH {
				t.Fatalf("size %v, want %dx%d", b, wantW, wantH)
			}
			if info.Width != wantW || info.Height != wantH {
				t.Fatalf("info size %dx%d, want %dx%d", info.Width, info.Height, wantW, wantH)
			}
			if got := cornerColors(img); got != tc.corners {
				t.Fatalf("corners %q, want %q", got, tc.corners)
			}
		})
	}
}

func TestDecodeImageReadsLittleEndianEXIF(t *testing.T) {
	t.Parallel()
	data := markedJPEG(t, 1)
	var buf bytes.Buffer
	img, _, _ := DecodeImage(data, 0)
	if err := jpeg.Encode(&buf, img, nil); err != nil {
		t.Fatalf("encoding: %v", err)
	}
	data = spliceEXIF(buf.Bytes(), exifWithOrientation(binary.LittleEndian, 6))
	info, err := Inspect(data, 0)
	if err != nil {
		t.Fatalf("inspecting: %v", err)
	}
	if info.Orientation != 6 || info.Width != 32 || info.Height != 48 {
		t.Fatalf("info %+v, want orientation 6 and 32x48", info)
	}
}

// awkwardCase is what DecodeImage must make of one file in
// ../shared/data/awkward: a size, or an error code and words in its message.
type awkwardCase struct {
	width, height int
	code          string
	words         string
}

var awkwardCases = map[string]awkwardCase{
	"avif_declares_17000x17000.avif":             {code: CodeUnsupportedFormat, words: "AVIF"},
	"bmp_4bpp_palette.bmp":                       {code: CodeUnsupportedFormat, words: "BMP"},
	"empty_zero_bytes.jpg":                       {code: CodeEmptyFile, words: "empty"},
	"gif_animated_245x245.gif":                   {width: 245, height: 245},
	"gif_frame_declares_65535x65535.gif":         {code: CodeCorruptImage, words: "corrupt"},
	"heic_iphone7plus_exif6_4032x3024.heic":      {code: CodeUnsupportedFormat, words: "HEIC"},
	"jpeg_12bit_precision_149x227.jpg":           {code: CodeUnsupportedFormat, words: "12-bit"},
	"jpeg_arithmetic_coding_227x149.jpg":         {code: CodeUnsupportedFormat, words: "arithmetic"},
	"jpeg_cmyk_adobe_inverted_100x100.jpg":       {width: 100, height: 100},
	"jpeg_exif_orientation8_308x231.jpg":         {width: 231, height: 308},
	"jpeg_grayscale_1component_300x200.jpg":      {width: 300, height: 200},
	"jpeg_truncated_progressive_100x100.jpg":     {code: CodeCorruptImage, words: "truncated"},
	"jpeg_ultrahdr_gainmap_3840x2160.jpg":        {width: 3840, height: 2160},
	"mpo_multipicture_stereo_640x480.mpo":        {width: 640, height: 480},
	"png_16bit_gray_confocal_skin_1024x1024.png": {width: 1024, height: 1024},
	"png_bytes_with_jpg_extension.jpg":           {width: 311, height: 311},
	"png_declares_50000x50000_1bit.png":          {code: CodeTooManyPixels, words: "50000x50000"},
	"png_palette_with_trns_64x64.png":            {width: 64, height: 64},
	"tiff_16bit_gray_64x64.tif":                  {code: CodeUnsupportedFormat, words: "TIFF"},
	"tiff_16bit_rgb_multipage_358x404.tif":       {code: CodeUnsupportedFormat, words: "TIFF"},
	"webp_animated_245x245.webp":                 {code: CodeUnsupportedFormat, words: "animated"},
	"webp_lossy_with_alpha_vp8x.webp":            {width: 400, height: 301},
}

func TestDecodeImageHandlesAwkwardFiles(t *testing.T) {
	t.Parallel()
	for _, path := range imageDataFiles(t, "awkward") {
		name := filepath.Base(path)
		want, known := awkwardCases[name]
		t.Run(name+" decodes or gives a clear error", func(t *testing.T) {
			t.Parallel()
			img, info, err := DecodeImage(readImageFile(t, path), 0)
			if !known {
				checkDecodedOrInputError(t, img, err)
				return
			}
			if want.code != "" {
				checkInputError(t, err, want.code, want.words)
				return
			}
			if err != nil {
				t.Fatalf("decoding: %v", err)
			}
			b := img.Bounds()
			if b.Dx() != want.width || b.Dy() != want.height || info.Width != want.width {
				t.Fatalf("size %v (info %dx%d), want %dx%d", b, info.Width, info.Height,
					want.width, want.height)
			}
		})
	}
}

// checkDecodedOrInputError accepts an image or an InputError with a message,
// for files the table does not know yet.
func checkDecodedOrInputError(t *testing.T, img image.Image, err error) {
	t.Helper()
	var inputErr *InputError
	switch {
	case err == nil && img == nil:
		t.Fatalf("no image and no error")
	case err != nil && (!errors.As(err, &inputErr) || inputErr.Message == ""):
		t.Fatalf("error %v (%T), want an *InputError with a message", err, err)
	}
}

func checkInputError(t *testing.T, err error, code, words string) {
	t.Helper()
	var inputErr *InputError
	if !errors.As(err, &inputErr) {
		t.Fatalf("error %v (%T), want *InputError", err, err)
	}
	if inputErr.Code != code {
		t.Fatalf("code %q (%s), want %q", inputErr.Code, inputErr.Message, code)
	}
	if !strings.Contains(inputErr.Message, words) {
		t.Fatalf("message %q does not mention %q", inputErr.Message, words)
	}
}

func TestDecodeImageRefusesHugeImagesWithoutAllocating(t *testing.T) {
	t.Parallel()
	data := readImageFile(t, filepath.Join(imageDataDir(t, "awkward"),
		"png_declares_50000x50000_1bit.png"))
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	_, _, decodeErr := DecodeImage(data, 0)
	_, inspectErr := Inspect(data, 0)
	runtime.ReadMemStats(&after)

	checkInputError(t, decodeErr, CodeTooManyPixels, "2500 megapixels")
	checkInputError(t, inspectErr, CodeTooManyPixels, "50 megapixel limit")
	// Other tests run in parallel, so allow them some allocation; the image
	// itself would be 2.5 GB.
	if grown := after.TotalAlloc - before.TotalAlloc; grown > 64<<20 {
		t.Fatalf("allocated %d bytes while refusing", grown)
	}
}

func TestDecodeImageAppliesACustomPixelLimit(t *testing.T) {
	t.Parallel()
	data := markedJPEG(t, 6)
	_, _, err := DecodeImage(data, 48*32-1)
	checkInputError(t, err, CodeTooManyPixels, "32x48")
	if _, _, err := DecodeImage(data, 48*32); err != nil {
		t.Fatalf("decoding at exactly the limit: %v", err)
	}
}
