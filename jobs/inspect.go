package jobs

import "github.com/dermq/dermq/inference"

// ImageInfo is what an image's header says about it.
type ImageInfo = inference.ImageInfo

// Inspect reads an upload's header without decoding its pixels. It returns
// an *InputError when the bytes are not an image DermQ can read or declare
// more than maxPixels pixels. It lets the web process refuse bad uploads
// without importing the inference package.
func Inspect(data []byte, maxPixels int) (ImageInfo, error) {
	return inference.Inspect(data, maxPixels)
}

// InputError is a problem with an uploaded image itself.
type InputError = inference.InputError
