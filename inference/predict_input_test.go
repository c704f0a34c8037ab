package inference

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"image"
	"path/filepath"
	"slices"
	"testing"
)

// inputCase is a file and what decodeInputs is asked for.
type inputCase struct {
	name string
	data []byte
}

// TestDecodeInputsMatchesTheWholeDecode expects the tensor and display copy
// that Predict makes, a strip at a time where the file allows it, to equal
// those made from DecodeImage's whole image, for every test photo, for a
// photo with restart markers in every EXIF orientation, and for several
// input sizes, filters and display sizes.
func TestDecodeInputsMatchesTheWholeDecode(t *testing.T) {
	t.Parallel()
	var cases []inputCase
	for _, path := range imageDataFiles(t, "images") {
		cases = append(cases, inputCase{filepath.Base(path), readImageFile(t, path)})
	}
	marked := readImageFile(t, filepath.Join(imageDataDir(t, "images"),
		"clinical_common_mole_baseline_428x285.jpg"))
	for o := 1; o <= 8; o++ {
		cases = append(cases, inputCase{fmt.Sprintf("restart markers, orientation %d", o),
			spliceEXIF(marked, exifWithOrientation(binary.BigEndian, o))})
	}

	preps := []Preprocess{{Scale: 255, Mean: [3]float32{0.5, 0.4, 0.3}},
		{Width: 300, Height: 260, Resize: ResizeBicubic, Layout: LayoutNHWC, Color: ColorBGR}}
	stripped := 0
	for _, tc := range cases {
		if _, _, _, _, ok := stripInputs(tc.data, preps[0], 0, 0); ok {
			stripped++
		}
		t.Run(tc.name+" gives the pixels of the whole decode", func(t *testing.T) {
			t.Parallel()
			for _, prep := range preps {
				for _, side := range []int{0, 333, 5000} {
					checkInputs(t, tc.data, prep, side)
				}
			}
		})
	}
	if stripped < 9 {
		t.Fatalf("%d files took the strip path, want at least the 8 orientations and one more",
			stripped)
	}
}

// checkInputs compares decodeInputs with DecodeImage, Tensor and fitDisplay.
func checkInputs(t *testing.T, data []byte, prep Preprocess, side int) {
	t.Helper()
	img, _, wantErr := DecodeImage(data, 0)
	tensor, photo, size, err := decodeInputs(data, prep, 0, side)
	if wantErr != nil || err != nil {
		if (wantErr == nil) != (err == nil) {
			t.Fatalf("decodeInputs gives error %v, DecodeImage %v", err, wantErr)
		}
		return
	}

	if size != img.Bounds().Size() {
		t.Fatalf("size %v, want %v", size, img.Bounds().Size())
	}
	if !slices.Equal(tensor, prep.Tensor(img)) {
		t.Fatalf("%+v: tensors differ", prep)
	}
	want := fitDisplay(img, side)
	if photo.Rect != want.Rect || !bytes.Equal(photo.Pix, want.Pix) {
		t.Fatalf("display side %d: display copies differ (%v and %v)", side, photo.Rect,
			want.Rect)
	}
}

// TestDecodeInputsReportsACorruptStrip spoils the entropy-coded data of
// one restart interval in the middle of a photo, so that the strip holding
// it fails to decode while the file still splits: decodeInputs must then
// report the file as corrupt, as DecodeImage does, not panic.
func TestDecodeInputsReportsACorruptStrip(t *testing.T) {
	t.Parallel()
	data := readImageFile(t, filepath.Join(imageDataDir(t, "images"),
		"clinical_common_mole_baseline_428x285.jpg"))
	h, err := readHeader(data, 0)
	if err != nil {
		t.Fatalf("reading the header: %v", err)
	}
	markers, ok := restartMarkers(data, h.jpeg.scanStart)
	if !ok || len(markers) < 4 {
		t.Fatalf("%d restart markers, want a photo with several", len(markers))
	}

	spoiled := slices.Clone(data)
	mid := len(markers) / 2
	for i := markers[mid] + 2; i < markers[mid+1]; i++ {
		spoiled[i] = 0xfe
	}
	if _, ok := newJPEGStrips(spoiled, h.jpeg, image.Point{}); !ok {
		t.Fatalf("the spoiled file no longer splits into strips; spoil a later interval")
	}
	_, _, _, err = decodeInputs(spoiled, Preprocess{}, 0, 0)
	checkInputError(t, err, CodeCorruptImage, "")
}
