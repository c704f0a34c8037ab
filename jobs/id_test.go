package jobs

import "testing"

func TestNewID(t *testing.T) {
	t.Parallel()

	t.Run("a new id is valid and unique", func(t *testing.T) {
		t.Parallel()
		a, b := NewID(), NewID()
		if !ValidID(a) || !ValidID(b) {
			t.Fatalf("ValidID(%q), ValidID(%q) = false, want true", a, b)
		}
		if a == b {
			t.Fatalf("two ids are both %q", a)
		}
	})

	for _, bad := range []string{"", "../../etc/passwd", "ABCDEFGHIJKLMNOPQRSTUVWXYZ",
		"abcdefghijklmnopqrstuvwxy1", "abcdefghijklmnopqrstuvwxyz2"} {
		t.Run("an id like "+bad+" is refused", func(t *testing.T) {
			t.Parallel()
			if ValidID(bad) {
				t.Fatalf("ValidID(%q) = true, want false", bad)
			}
		})
	}
}
