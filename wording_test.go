package licet

import "testing"

func TestWording(t *testing.T) {
	for _, c := range []struct{ got, want string }{
		{Plural(1, "user"), "1 user"},
		{Plural(0, "minute"), "0 minutes"},
		{Plural(10, "minute"), "10 minutes"},
		{Article("Inspections"), "an Inspections"},
		{Article("Standard"), "a Standard"},
		{Article("enterprise"), "an enterprise"},
	} {
		if c.got != c.want {
			t.Errorf("%q; want %q", c.got, c.want)
		}
	}
}
