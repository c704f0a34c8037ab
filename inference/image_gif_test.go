package inference

import (
	"errors"
	"path/filepath"
	"testing"
)

func TestInspectChecksTheFirstGIFFrame(t *testing.T) {
	t.Parallel()

	dir := imageDataDir(t, "awkward")
	cases := []struct {
		name    string
		file    string
		refused bool
	}{
		{"a frame larger than the screen is refused", "gif_frame_declares_65535x65535.gif",
			true},
		{"an animated GIF whose frames fit is accepted", "gif_animated_245x245.gif", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()

			data := readImageFile(t, filepath.Join(dir, c.file))
			_, inspectErr := Inspect(data, 0)
			if !c.refused {
				if inspectErr != nil {
					t.Fatalf("Inspect = %v, want no error", inspectErr)
				}
				return
			}

			_, _, decodeErr := DecodeImage(data, 0)
			var inspected, decoded *InputError
			if !errors.As(inspectErr, &inspected) || !errors.As(decodeErr, &decoded) {
				t.Fatalf("Inspect = %v, DecodeImage = %v, want two InputErrors",
					inspectErr, decodeErr)
			}
			if inspected.Code != decoded.Code || inspected.Message != decoded.Message {
				t.Fatalf("Inspect says %s %q, DecodeImage says %s %q", inspected.Code,
					inspected.Message, decoded.Code, decoded.Message)
			}
		})
	}
}
