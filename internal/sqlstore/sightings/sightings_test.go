package sightings

import (
	"strings"
	"testing"
)

// The statements take as many parameters as Record passes them: ten a
// user in the many-row form, eleven in the one-row form. What they write
// is held on both databases by the store's contract (storetest
// "Sightings": 450 users in one flush, repeats newer and older).
func TestUpdateSQLTakesRecordsArguments(t *testing.T) {
	for _, c := range []struct{ n, per, want int }{{1, 1, 11}, {1, 200, 10}, {7, 200, 70}, {200, 200, 2000}} {
		q := updateSQL(c.n, c.per)
		if got := strings.Count(q, "?"); got != c.want {
			t.Errorf("updateSQL(%d, %d) takes %d parameters; Record passes %d", c.n, c.per, got, c.want)
		}
		if c.per > 1 && strings.Count(q, "(CAST(") != c.n {
			t.Errorf("updateSQL(%d, %d) has %d value rows", c.n, c.per, strings.Count(q, "(CAST("))
		}
	}
}
