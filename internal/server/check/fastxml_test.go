package check

import (
	"encoding/base64"
	"encoding/json"
	"encoding/xml"
	"strings"
	"testing"
	"time"
	"unsafe"

	"github.com/licet/licet"
)

var xmlSeeds = []string{
	`<MobileClient><Version>6.1.0.0</Version><Edition>Resco</Edition><DeviceId>45d780e4f18354949676f743b0h11633951652bc</DeviceId><DeviceInfo>iPad 2 Wi-Fi only (iPad2,1) iPhone OS 6.0</DeviceInfo><OrganizationId>4F767AFF-B33F-437C-A7CB-00249948C82B</OrganizationId><OrganizationUrl>https://testcrm.example.net</OrganizationUrl><OrganizationName>testcrm</OrganizationName><UserId>661BAC34-1128-40B1-9653-00B9F54158CD</UserId></MobileClient>`,
	"<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<MobileClient>\n  <UserId> u </UserId>\n  <DeviceId>d</DeviceId>\n</MobileClient>\n",
	`<?xml version="1.0" encoding="ISO-8859-1"?><MobileClient><UserId>u</UserId></MobileClient>`,
	`<MobileClient><UserId>a&amp;b</UserId></MobileClient>`,
	`<MobileClient><UserId>a</UserId><UserId>b</UserId></MobileClient>`,
	`<MobileClient><Other>x</Other><UserId>u</UserId></MobileClient>`,
	`<MobileClient><UserId>u</UserId></MobileClient><x/>`,
	`<MobileClient><UserId>u</UserId>`,
	`<MobileClient a="1"><UserId>u</UserId></MobileClient>`,
	`<MobileClient><UserId><![CDATA[u]]></UserId></MobileClient>`,
	`<MobileClient><!-- c --><UserId>u</UserId></MobileClient>`,
	`<MobileClient><UserId>u</DeviceId></MobileClient>`,
	`<MobileClient><UserId>é</UserId></MobileClient>`,
	"<MobileClient><UserId>a\r\nb</UserId></MobileClient>",
	`<MobileClient><UserId></UserId></MobileClient>`,
	`<MobileClient></MobileClient>`,
	`<mobileclient></mobileclient>`,
	`<MobileClient><UserId>u</UserId ></MobileClient>`,
	`<MobileClient><UserId>>u</UserId></MobileClient>`,
}

// FuzzFastXML holds the fast reader to encoding/xml: whatever it accepts,
// encoding/xml accepts too and reads into the same fields.
func FuzzFastXML(f *testing.F) {
	for _, s := range xmlSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		fast, ok := fastXML(body)
		if !ok {
			return
		}
		var slow licet.CheckRequest
		if err := slowXML(body, &slow); err != nil {
			t.Fatalf("fast accepted what encoding/xml refuses (%v): %q", err, body)
		}
		if fast != slow {
			t.Fatalf("fast read %+v, encoding/xml %+v: %q", fast, slow, body)
		}
	})
}

func TestFastXMLTakesTheCommonShape(t *testing.T) {
	r, ok := fastXML([]byte(xmlSeeds[0]))
	if !ok || r.UserID != "661BAC34-1128-40B1-9653-00B9F54158CD" || r.DeviceInfo != "iPad 2 Wi-Fi only (iPad2,1) iPhone OS 6.0" || r.Edition != "Resco" {
		t.Errorf("%v %+v", ok, r)
	}
	for _, s := range xmlSeeds[2:] {
		if _, ok := fastXML([]byte(s)); ok && !strings.Contains(s, "<UserId></UserId>") && s != `<MobileClient></MobileClient>` {
			t.Errorf("fast path took an unusual document: %q", s)
		}
	}
}

func TestAnswersMatchTheEncoders(t *testing.T) {
	for _, r := range []checkResponse{
		{Status: licet.StatusLicensed, Licensed: true, LicenseType: "Standard", Message: "a Standard license was assigned automatically",
			Lease: "eyJ2IjoxfQ==", Signature: "c2ln+/==", KeyID: "6639af3f01d34114", Expires: "2026-12-03T21:16:50Z"},
		{Status: licet.StatusNoLicenseAvailable, Message: `all "Premium" seats <taken> & more \ é` + "\t\n"},
		// A lease signed for this answer: its bytes and expiry, encoded as the answer is written.
		{Status: licet.StatusLicensed, Licensed: true, LicenseType: "Standard", Message: "licensed", KeyID: "6639af3f01d34114",
			lease: []byte(`{"v":1,"org":"x"}`), sig: []byte("sig\xfb\xff"), expires: time.Date(2026, 12, 3, 21, 16, 50, 0, time.UTC)},
	} {
		// What the encoders write for the same answer with every member a string.
		enc := r
		if r.lease != nil {
			enc.Lease, enc.Signature = base64.StdEncoding.EncodeToString(r.lease), base64.StdEncoding.EncodeToString(r.sig)
		}
		if !r.expires.IsZero() {
			enc.Expires = r.expires.Format(licet.TimeFormat)
		}
		want, _ := json.Marshal(enc)
		if got := r.appendJSON(nil); string(got) != string(want) {
			t.Errorf("JSON\n got %s\nwant %s", got, want)
		}
		wantX, _ := xml.MarshalIndent(enc, "", "  ")
		if got := r.appendXML(nil); string(got) != xml.Header+string(wantX)+"\n" {
			t.Errorf("XML\n got %s\nwant %s", got, xml.Header+string(wantX))
		}
	}
}

var jsonSeeds = []string{
	jsonDoc,
	`{}`,
	` { "UserId" : "u" , "DEVICEID":"d" } `,
	`{"userId":"a","userId":"b"}`,
	`{"userId":"a\"b"}`,
	`{"userId":"é"}`,
	`{"userId":1}`,
	`{"userId":"u",}`,
	`{"other":{"x":1},"userId":"u"}`,
	`{"other":"x","userId":"u"}`,
	`{"userId":"u"} {}`,
	`[]`,
	`{"userId":"u"`,
	`{"userId":null}`,
	`{"user_id":"u"}`,
	`{"EDITION":"e","version":"v","Editiom":"x","organizationNAME":"n"}`,
}

// FuzzFastJSON holds the fast JSON reader to encoding/json.
func FuzzFastJSON(f *testing.F) {
	for _, s := range jsonSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		fast, ok := fastJSON(body)
		if !ok {
			return
		}
		var slow licet.CheckRequest
		if err := slowJSON(body, &slow); err != nil {
			t.Fatalf("fast accepted what encoding/json refuses (%v): %q", err, body)
		}
		if fast != slow {
			t.Fatalf("fast read %+v, encoding/json %+v: %q", fast, slow, body)
		}
	})
}

// The fields of a plain check share one copy of its body; those of a body
// padded with what nobody reads get copies of their own, so that keeping
// the fields (a sighting, a lease, a known device) keeps not the padding.
func TestFieldsDoNotKeepPadding(t *testing.T) {
	const org, user = "4F767AFF-B33F-437C-A7CB-00249948C82B", "661BAC34-1128-40B1-9653-00B9F54158CD"
	// shared: cut from one copy, UserID lies where the body puts it,
	// between bytes after OrganizationID.
	shared := func(r licet.CheckRequest, between string) bool {
		return r.OrganizationID == org && r.UserID == user &&
			uintptr(unsafe.Pointer(unsafe.StringData(r.UserID)))-uintptr(unsafe.Pointer(unsafe.StringData(r.OrganizationID))) ==
				uintptr(len(org)+len(between))
	}
	pad := strings.Repeat(" ", 60_000)
	for _, c := range []struct {
		name, body, between string
		share               bool
	}{
		{"JSON", `{"organizationId":"` + org + `","userId":"` + user + `","deviceId":"d"}`, `","userId":"`, true},
		{"padded JSON", `{"organizationId":"` + org + `","padding":"` + strings.Repeat("x", 60_000) + `","userId":"` + user + `","deviceId":"d"}`,
			`","padding":"` + strings.Repeat("x", 60_000) + `","userId":"`, false},
		{"JSON padded with white space", `{"organizationId":"` + org + `",` + pad + `"userId":"` + user + `"}`, `",` + pad + `"userId":"`, false},
		{"XML", `<MobileClient><OrganizationId>` + org + `</OrganizationId><UserId>` + user + `</UserId><DeviceId>d</DeviceId></MobileClient>`,
			`</OrganizationId><UserId>`, true},
		{"XML padded with white space", `<MobileClient><OrganizationId>` + org + `</OrganizationId>` + pad + `<UserId>` + user + `</UserId></MobileClient>`,
			`</OrganizationId>` + pad + `<UserId>`, false},
	} {
		read := fastJSON
		if c.body[0] == '<' {
			read = fastXML
		}
		r, ok := read([]byte(c.body))
		if !ok || r.OrganizationID != org || r.UserID != user {
			t.Fatalf("%s: ok %v, %+v", c.name, ok, r)
		}
		if got := shared(r, c.between); got != c.share {
			t.Errorf("%s: fields cut from the body %v, want %v", c.name, got, c.share)
		}
	}
}
