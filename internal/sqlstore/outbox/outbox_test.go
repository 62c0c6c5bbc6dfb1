package outbox

import (
	"errors"
	"testing"

	"github.com/licet/licet"
)

// row is a scanned outbox row.
type row []any

func (r row) Scan(dest ...any) error {
	if len(dest) != len(r) {
		return errors.New("columns")
	}
	for i, v := range r {
		switch d := dest[i].(type) {
		case *int64:
			*d = v.(int64)
		case *int:
			*d = v.(int)
		case *string:
			*d = v.(string)
		}
	}
	return nil
}

func TestScanMail(t *testing.T) {
	m, err := ScanMail(row{int64(7), "org", "a@x.example", licet.MailAssignment, `[{"user":"U1","type":"Standard","at":"2026-01-05T09:00:00Z"}]`,
		int64(1767603600000), int64(1767603600000), 0, "pending", "", int64(0)})
	if err != nil || m.ID != 7 || len(m.Events) != 1 || m.Events[0].UserID != "U1" || m.Activity != nil || !m.SentAt.IsZero() {
		t.Errorf("assignment %+v %v", m, err)
	}
	m, err = ScanMail(row{int64(8), "org", "a@x.example", licet.MailActivity, `{"refused":3}`,
		int64(1767603600000), int64(1767603600000), 1, "sent", "", int64(1767603600000)})
	if err != nil || m.Activity == nil || m.Activity.Refused != 3 || m.Events == nil || m.SentAt.IsZero() {
		t.Errorf("activity %+v %v", m, err)
	}
	if _, err := ScanMail(row{int64(9), "org", "a@x.example", licet.MailAssignment, `not json`,
		int64(0), int64(0), 0, "pending", "", int64(0)}); err == nil {
		t.Error("a mangled mail read")
	}
}

// A mail is sent only to an address that still wants it when it goes.
func TestWanted(t *testing.T) {
	on := &licet.Organization{ID: "org", Settings: licet.Settings{Notifications: true}}
	off := &licet.Organization{ID: "org"}
	rs := []licet.Recipient{
		{Address: "sub@x.example", State: licet.SubSubscribed},
		{Address: "pend@x.example", Listed: true, State: licet.SubPending},
		{Address: "unsub@x.example", Listed: true, State: licet.SubUnsubscribed},
	}
	for _, tc := range []struct {
		org        *licet.Organization
		kind, addr string
		want       bool
	}{
		{on, licet.MailAssignment, "sub@x.example", true},
		{off, licet.MailAssignment, "sub@x.example", false},
		{on, licet.MailAssignment, "pend@x.example", false},
		{on, licet.MailAssignment, "unsub@x.example", false},
		{on, licet.MailAssignment, "gone@x.example", false},
		{nil, licet.MailAssignment, "sub@x.example", false},
		{off, licet.MailActivity, "sub@x.example", true},
		{off, licet.MailActivity, "pend@x.example", false},
		{off, licet.MailConfirm, "pend@x.example", true},
		{on, licet.MailConfirm, "sub@x.example", false},
		{on, licet.MailConfirm, "unsub@x.example", false},
	} {
		if got := wanted(tc.org, rs, &licet.Mail{Kind: tc.kind, Address: tc.addr}); got != tc.want {
			t.Errorf("%s to %s (notifications %v): %v, want %v", tc.kind, tc.addr, tc.org != nil && tc.org.Settings.Notifications, got, tc.want)
		}
	}
}
