package web

import "testing"

func TestPercentNeverShowsASmallProbabilityAsZero(t *testing.T) {
	t.Parallel()

	cases := []struct {
		p    float64
		want string
	}{
		{0.8123, "81.2%"},
		{0.001, "0.1%"},
		{0.0004, "<0.1%"},
		{0, "0.0%"},
	}
	for _, c := range cases {
		if got := percent(c.p); got != c.want {
			t.Errorf("percent(%v) = %q, want %q", c.p, got, c.want)
		}
	}
}
