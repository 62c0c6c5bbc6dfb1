package console

import (
	"net/http"
	"strconv"

	"github.com/licet/licet"
)

// A notice is what the console says after a form posts and redirects. The
// redirect's URL carries only a code from this table and whole numbers, never
// text: a link someone crafts cannot put words into the console's trusted
// status box. A code that is not here, or whose numbers are missing or not
// whole, shows nothing.
//
// To add a message: add a code here, redirect with s.done(w, r, path, code,
// numbers...), and render the page with withNotice(r, &page{...}).
type notice struct {
	args  int                    // how many numbers the text needs
	error bool                   // shown as an error rather than a confirmation
	say   func(n []int64) string // the text; n has exactly args numbers
}

func fixed(text string) func([]int64) string { return func([]int64) string { return text } }

func usersDone(verb string) notice {
	return notice{args: 1, say: func(n []int64) string { return verb + ": " + licet.Plural(int(n[0]), "user") + " done." }}
}

var notices = map[string]notice{
	"settings-saved": {say: fixed("Settings saved.")},
	"token-revoked":  {say: fixed("Token revoked.")},
	"users-add":      usersDone("Add"),
	"users-assign":   usersDone("Assign"),
	"users-unassign": usersDone("Unassign"),
	"users-enable":   usersDone("Enable"),
	"users-disable":  usersDone("Disable"),
	"users-delete":   usersDone("Delete"),
	"offline-issued": {args: 2, say: func(n []int64) string {
		return "Offline license " + strconv.FormatInt(n[0], 10) + " issued with " + licet.Plural(int(n[1]), "user") + "."
	}},
	"offline-backend-saved": {say: fixed("Backend saved.")},
	"offline-test-ok":       {say: fixed("Backend test passed: devices will find and accept the file.")},
	"offline-test-failed":   {error: true, say: fixed("Backend test failed: see the steps below.")},
	"offline-upload-failed": {args: 1, error: true, say: func(n []int64) string {
		return "Offline license " + strconv.FormatInt(n[0], 10) + " issued, but saving it to the backend failed: see the history below."
	}},
}

// done redirects (303) to path, a console path without a query, with a notice.
func (s *Console) done(w http.ResponseWriter, r *http.Request, path, code string, n ...int64) {
	if nt, ok := notices[code]; !ok || nt.args != len(n) {
		s.Logger.Error("console notice unknown or with the wrong numbers", "code", code, "numbers", len(n))
		http.Redirect(w, r, path, http.StatusSeeOther)
		return
	}
	q := "?done=" + code
	for _, v := range n {
		q += "&n=" + strconv.FormatInt(v, 10)
	}
	http.Redirect(w, r, path+q, http.StatusSeeOther)
}

// withNotice sets p's confirmation or error from the request's notice code.
func withNotice(r *http.Request, p *page) *page {
	q := r.URL.Query()
	nt, ok := notices[q.Get("done")]
	if !ok || len(q["n"]) != nt.args {
		return p
	}
	n := make([]int64, nt.args)
	for i, v := range q["n"] {
		x, err := strconv.ParseInt(v, 10, 64)
		if err != nil || x < 0 {
			return p
		}
		n[i] = x
	}
	if nt.error {
		p.Error = nt.say(n)
	} else {
		p.Flash = nt.say(n)
	}
	return p
}
