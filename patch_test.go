package licet_test

import (
	"reflect"
	"testing"

	"github.com/licet/licet"
)

func TestSettingsPatchForAdmin(t *testing.T) {
	on, n, s := true, 3, "x"
	mine := licet.SettingsPatch{AutoAssign: &on, AssignType: &s, TemporaryDays: &n, FreeUnusedDays: &n, Notifications: &on,
		NotificationEmails: &[]string{"a@example.net"}, NotifyWindow: &n, BindURL: &on}
	if got, more := mine.ForAdmin(); more || !reflect.DeepEqual(got, mine) {
		t.Errorf("an administrator's own settings: %+v, %v; want them all, false", got, more)
	}
	for name, p := range map[string]licet.SettingsPatch{
		"name": {Name: &s}, "url": {URL: &s}, "offline": {Offline: &on}, "temporaryMax": {TemporaryMax: &n},
		"temporaryMaxDays": {TemporaryMaxDays: &n}, "admissionsPerMinute": {AdmissionsPerMinute: &n},
	} {
		p.AutoAssign = &on
		got, more := p.ForAdmin()
		if !more || !reflect.DeepEqual(got, licet.SettingsPatch{AutoAssign: &on}) {
			t.Errorf("%s is the vendor's: %+v, %v; want only autoAssign, true", name, got, more)
		}
	}
}
