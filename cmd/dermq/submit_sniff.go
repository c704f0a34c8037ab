package main

import (
	"bytes"
	"encoding/binary"
)

// sniffLength is how many leading bytes sniffImage needs.
const sniffLength = 512

// sniffImage names the image format head starts with, or returns "" when the
// bytes are not a known image. It reads magic numbers only, so the file's
// extension never matters; whether the server can decode the format is the
// server's call.
func sniffImage(head []byte) string {
	switch {
	case bytes.HasPrefix(head, []byte{0xFF, 0xD8, 0xFF}):
		return "jpeg"
	case bytes.HasPrefix(head, []byte("\x89PNG\r\n\x1a\n")):
		return "png"
	case bytes.HasPrefix(head, []byte("GIF87a")), bytes.HasPrefix(head, []byte("GIF89a")):
		return "gif"
	case len(head) >= 12 && string(head[:4]) == "RIFF" && string(head[8:12]) == "WEBP":
		return "webp"
	case bytes.HasPrefix(head, []byte("II*\x00")), bytes.HasPrefix(head, []byte("MM\x00*")):
		return "tiff"
	case isBMP(head):
		return "bmp"
	}

	return sniffISOBMFF(head)
}

// isBMP reports a BMP file header followed by a known info header size, so a
// text file that merely starts with "BM" is not taken for an image.
func isBMP(head []byte) bool {
	if len(head) < 18 || string(head[:2]) != "BM" {
		return false
	}

	switch binary.LittleEndian.Uint32(head[14:18]) {
	case 12, 40, 52, 56, 64, 108, 124:
		return true
	}

	return false
}

// sniffISOBMFF recognises HEIF and AVIF files by the major brand of their
// leading ftyp box.
func sniffISOBMFF(head []byte) string {
	if len(head) < 12 || string(head[4:8]) != "ftyp" {
		return ""
	}

	switch string(head[8:12]) {
	case "avif", "avis":
		return "avif"
	case "heic", "heix", "heim", "heis", "hevc", "hevx", "mif1", "msf1":
		return "heif"
	}

	return ""
}
