package jobs

import (
	"crypto/rand"
	"encoding/base32"
	"strings"
)

// idLength is the length of a prediction id: 16 random bytes in base32.
const idLength = 26

var idEncoding = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").
	WithPadding(base32.NoPadding)

// NewID returns a fresh random prediction id: 26 lowercase base32 characters.
func NewID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])

	return idEncoding.EncodeToString(b[:])
}

// ValidID reports whether s has the shape of a prediction id, so that
// untrusted input never reaches a Redis key unchecked.
func ValidID(s string) bool {
	if len(s) != idLength {
		return false
	}

	return strings.Trim(s, "abcdefghijklmnopqrstuvwxyz234567") == ""
}
