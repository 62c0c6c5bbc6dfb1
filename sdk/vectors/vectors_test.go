package vectors

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/licet/licet"
	"github.com/licet/licet/internal/keys"
	"github.com/licet/licet/internal/licensing"
	"github.com/licet/licet/internal/offline"
	"github.com/licet/licet/protocol"
)

var update = flag.Bool("update", false, "rewrite the vector files")

// Fixed keys and times: the same code gives the same bytes.
const (
	org      = "4F767AFF-B33F-437C-A7CB-00249948C82B"
	user     = "661BAC34-1128-40B1-9653-00B9F54158CD"
	user2    = "761BAC34-1128-40B1-9653-00B9F54158CD"
	stranger = "00000000-0000-0000-0000-000000000001"
	device   = "45d780e4f18354949676f743b0h11633951652bc"
	orgURL   = "https://testcrm.example.net"
	drift    = 300
)

var (
	iat = time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)
	exp = iat.Add(7 * 24 * time.Hour)
)

func key(name string) *keys.Key {
	seed := sha256.Sum256([]byte("licet conformance vectors: " + name))
	priv := ed25519.NewKeyFromSeed(seed[:])
	return &keys.Key{ID: keys.ID(priv.Public().(ed25519.PublicKey)), Private: priv}
}

// KeyFile is keys.json: the public keys cases name in "trust".
type KeyFile struct {
	Comment string               `json:"comment"`
	Keys    map[string]PublicKey `json:"keys"`
}

type PublicKey struct {
	ID  string `json:"id"`
	PEM string `json:"publicKeyPem"`
}

// Expect is what a verifier must conclude.
type Expect struct {
	Valid       bool   `json:"valid"`
	Reason      string `json:"reason"` // "ok" or the refusal's code (protocol.Reason)
	Status      string `json:"status,omitempty"`
	LicenseType string `json:"licenseType,omitempty"`
	Expires     string `json:"expires,omitempty"`
}

type LeaseCheck struct {
	Org          string   `json:"org,omitempty"`
	User         string   `json:"user,omitempty"`
	Device       string   `json:"device,omitempty"`
	Now          string   `json:"now"`
	DriftSeconds int      `json:"driftSeconds"`
	Revoked      []string `json:"revoked,omitempty"` // key IDs the device learnt were revoked
}

type LeaseCase struct {
	Name        string     `json:"name"`
	Description string     `json:"description"`
	Trust       []string   `json:"trust"`
	Lease       string     `json:"lease"`     // base64 of the payload bytes, as in the check's answer
	Signature   string     `json:"signature"` // base64 of the signature
	Check       LeaseCheck `json:"check"`
	Expect      Expect     `json:"expect"`
}

type LeaseFile struct {
	Comment string      `json:"comment"`
	Cases   []LeaseCase `json:"cases"`
}

type OfflineCheck struct {
	Org          string   `json:"org"`
	URL          string   `json:"url"`
	User         string   `json:"user"`
	Now          string   `json:"now"`
	DriftSeconds int      `json:"driftSeconds"`
	Revoked      []string `json:"revoked,omitempty"`
}

type OfflineCase struct {
	Name        string       `json:"name"`
	Description string       `json:"description"`
	Trust       []string     `json:"trust"`
	File        string       `json:"file"` // base64 of the whole file's bytes
	Check       OfflineCheck `json:"check"`
	Expect      Expect       `json:"expect"`
}

type OfflineFile struct {
	Comment string        `json:"comment"`
	Cases   []OfflineCase `json:"cases"`
}

func ts(t time.Time) string { return t.UTC().Format(licet.TimeFormat) }

func b64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

func lease(k *keys.Key, mod func(*licet.Lease)) (payload, sig []byte) {
	l := licet.Lease{Version: 1, Org: org, User: user, Device: device, LicenseType: "Standard", Status: licet.StatusLicensed,
		IssuedAt: ts(iat), ExpiresAt: ts(exp), KeyID: k.ID, Role: licet.RolePrimary, Server: "https://licet.example.com"}
	if mod != nil {
		mod(&l)
	}
	return licensing.SignLease(k, l)
}

// flip changes one byte of a copy of b.
func flip(b []byte, i int, x byte) []byte {
	c := bytes.Clone(b)
	c[i] ^= x
	return c
}

func leaseCases() LeaseFile {
	cur, prev, other := key("current"), key("previous"), key("stranger")
	okCheck := LeaseCheck{Org: org, User: user, Device: device, Now: ts(iat.Add(time.Hour)), DriftSeconds: drift}
	at := func(t time.Time) LeaseCheck { c := okCheck; c.Now = ts(t); return c }
	valid := Expect{Valid: true, Reason: "ok", Status: "Licensed", LicenseType: "Standard", Expires: ts(exp)}
	refuse := func(reason string) Expect { return Expect{Reason: reason} }
	p, s := lease(cur, nil)
	var cs []LeaseCase
	add := func(name, desc string, payload, sig []byte, c LeaseCheck, e Expect) {
		cs = append(cs, LeaseCase{Name: name, Description: desc, Trust: []string{"current", "previous"}, Lease: b64(payload), Signature: b64(sig), Check: c, Expect: e})
	}
	add("valid", "a lease as the server signs it, checked an hour after it was issued", p, s, okCheck, valid)
	pt, st := lease(cur, func(l *licet.Lease) { l.Status = licet.StatusTemporary; l.LicenseType = "Inspections" })
	add("valid-temporary", "a temporary license's lease", pt, st, okCheck, Expect{Valid: true, Reason: "ok", Status: "Temporary", LicenseType: "Inspections", Expires: ts(exp)})
	pp, sp := lease(prev, nil)
	add("valid-previous-key", "signed by an older key the app still trusts (after a rotation)", pp, sp, okCheck, valid)
	lower := okCheck
	lower.Org, lower.User = "{"+strings.ToLower(org)+"}", strings.ToLower(user)
	add("valid-guid-forms", "the device's GUIDs in lower case and with braces: GUIDs compare case-insensitively", p, s, lower, valid)
	add("valid-just-before-expiry", "one second before exp", p, s, at(exp.Add(-time.Second)), valid)
	add("valid-issued-within-drift", "the device clock is behind the server by exactly the drift", p, s, at(iat.Add(-drift*time.Second)), valid)
	add("inspect-without-device", "no organization, user or device to compare: only key, signature and time", p, s, LeaseCheck{Now: okCheck.Now, DriftSeconds: drift}, valid)

	i := bytes.Index(p, []byte(user)) // change the user ID, keep the signature
	add("tampered-payload", "one byte of the user ID changed after signing", flip(p, i, 0x01), s, okCheck, refuse("bad-signature"))
	add("tampered-payload-appended", "a space appended to the payload: exact bytes, no re-encoding", append(bytes.Clone(p), ' '), s, okCheck, refuse("bad-signature"))
	add("tampered-signature", "one bit of the signature flipped", p, flip(s, 10, 0x04), okCheck, refuse("bad-signature"))
	add("truncated-signature", "a 63-byte signature", p, s[:63], okCheck, refuse("bad-signature"))
	add("other-user", "a valid lease of another user of the organization", p, s, func() LeaseCheck { c := okCheck; c.User = user2; return c }(), refuse("wrong-user"))
	add("other-organization", "a valid lease for another organization", p, s, func() LeaseCheck { c := okCheck; c.Org = "5F767AFF-B33F-437C-A7CB-00249948C82B"; return c }(), refuse("wrong-organization"))
	add("other-device", "a valid lease of this user on another device", p, s, func() LeaseCheck { c := okCheck; c.Device = "another-device"; return c }(), refuse("wrong-device"))
	add("device-case", "device IDs are opaque: compared exactly, case included", p, s, func() LeaseCheck { c := okCheck; c.Device = strings.ToUpper(device); return c }(), refuse("wrong-device"))
	add("expired", "checked at exp", p, s, at(exp), refuse("expired"))
	add("expired-long-ago", "checked a year after exp", p, s, at(exp.AddDate(1, 0, 0)), refuse("expired"))
	add("issued-in-future", "issued more than the drift after the device's clock: believing it would raise the trusted time", p, s, at(iat.Add(-drift*time.Second-time.Second)), refuse("issued-in-future"))
	pl, sl := lease(cur, func(l *licet.Lease) { l.ExpiresAt = ts(iat.Add(protocol.DefaultLeaseLength + time.Second)) })
	add("too-long", "valid for longer than the longest lease a device believes (protocol.DefaultLeaseLength)", pl, sl, okCheck, refuse("too-long"))
	add("revoked-key", "signed by a trusted key the device has since learnt was revoked (from a signed key set)", p, s, func() LeaseCheck { c := okCheck; c.Revoked = []string{cur.ID}; return c }(), refuse("revoked-key"))
	add("revoked-other-key", "another key's revocation changes nothing for this lease", p, s, func() LeaseCheck { c := okCheck; c.Revoked = []string{other.ID}; return c }(), valid)
	hyphenless := okCheck
	hyphenless.Org, hyphenless.User = strings.ReplaceAll(strings.ToLower(org), "-", ""), "{"+strings.ReplaceAll(user, "-", "")+"}"
	add("valid-guid-without-hyphens", "the device's GUIDs without hyphens (one in braces): one canonical form", p, s, hyphenless, valid)
	add("check-org-not-a-guid", "a device whose organization ID is not a GUID matches nothing", p, s, func() LeaseCheck { c := okCheck; c.Org = "testcrm"; return c }(), refuse("wrong-organization"))
	po, so := lease(other, nil)
	add("unknown-key", "signed by a key the app does not trust", po, so, okCheck, refuse("unknown-key"))
	pf, sf := lease(other, func(l *licet.Lease) { l.KeyID = cur.ID })
	add("forged-key-id", "signed by a stranger's key but naming the trusted key's ID", pf, sf, okCheck, refuse("bad-signature"))

	raw := func(name, desc, payload string) {
		add(name, desc, []byte(payload), ed25519.Sign(cur.Private, []byte(payload)), okCheck, refuse("malformed"))
	}
	body := func(v, status, times string) string {
		return fmt.Sprintf(`{"v":%s,"org":%q,"user":%q,"device":%q,"type":"Standard","status":%q,%s,"kid":%q,"role":"primary","server":"https://licet.example.com"}`,
			v, org, user, device, status, times, cur.ID)
	}
	okTimes := fmt.Sprintf(`"iat":%q,"exp":%q`, ts(iat), ts(exp))
	raw("signed-not-json", "the trusted key signed bytes that are not JSON", "not a lease")
	good := string(p)
	raw("signed-duplicate-key", "a member twice: JSON.parse keeps the last, Go the last, so strict parsing refuses", strings.Replace(good, `"user":`, `"user":"00000000-0000-0000-0000-000000000001","user":`, 1))
	raw("signed-keys-differing-in-case", `"user" and "USER": Go matches keys ignoring case`, strings.Replace(good, `"user":`, `"USER":"00000000-0000-0000-0000-000000000001","user":`, 1))
	raw("signed-member-in-other-case", `"ORG" alone: Go's decoder would read it as "org", other verifiers would not`, strings.Replace(good, `"org":`, `"ORG":`, 1))
	raw("signed-kelvin-sign", "\"\u212aid\" (KELVIN SIGN) folds to \"kid\" in Unicode", strings.Replace(good, `"server":`, "\"\u212aid\":\"x\",\"server\":", 1))
	raw("signed-invalid-utf8", "a payload that is not UTF-8", strings.Replace(good, `"role":"primary"`, "\"role\":\"prim\xffary\"", 1))
	raw("signed-nested-too-deep", "an unknown member nested 33 deep (strict parsing allows 32)", strings.Replace(good, `"role":`, `"x":`+strings.Repeat("[", 33)+strings.Repeat("]", 33)+`,"role":`, 1))
	raw("signed-second-document", "a second JSON value after the object", good+"{}")
	add("signed-unknown-member", "members a lease does not define are ignored (fields may be added)", []byte(strings.Replace(good, `"role":`, `"extra":{"a":[1,2]},"role":`, 1)),
		ed25519.Sign(cur.Private, []byte(strings.Replace(good, `"role":`, `"extra":{"a":[1,2]},"role":`, 1))), okCheck, valid)
	raw("signed-version-2", "a payload version this verifier does not know", body("2", "Licensed", okTimes))
	raw("signed-denial-status", "a signed payload whose status is not Licensed or Temporary", body("1", "NotAssigned", okTimes))
	raw("signed-time-with-offset", "times must be UTC, YYYY-MM-DDTHH:MM:SSZ", body("1", "Licensed", fmt.Sprintf(`"iat":"2026-03-01T09:00:00+01:00","exp":%q`, ts(exp))))
	raw("signed-time-fraction", "no fractions of seconds", body("1", "Licensed", fmt.Sprintf(`"iat":"2026-03-01T08:00:00.5Z","exp":%q`, ts(exp))))
	raw("signed-time-impossible-date", "February 30th is no date", body("1", "Licensed", fmt.Sprintf(`"iat":%q,"exp":"2026-02-30T08:00:00Z"`, ts(iat))))
	raw("signed-string-version", `"v" is a number`, body(`"1"`, "Licensed", okTimes))
	cs = append(cs, LeaseCase{Name: "signature-not-base64", Description: "the signature field is not standard padded base64", Trust: []string{"current"},
		Lease: b64(p), Signature: strings.TrimRight(b64(s), "="), Check: okCheck, Expect: refuse("malformed")})
	cs = append(cs, LeaseCase{Name: "signature-base64-with-newline", Description: "a line break inside the base64", Trust: []string{"current"},
		Lease: b64(p), Signature: b64(s)[:40] + "\n" + b64(s)[40:], Check: okCheck, Expect: refuse("malformed")})
	cs = append(cs, LeaseCase{Name: "trust-only-current", Description: "signed by the previous key, which the app no longer trusts", Trust: []string{"current"},
		Lease: b64(pp), Signature: b64(sp), Check: okCheck, Expect: refuse("unknown-key")})
	return LeaseFile{Comment: "Leases: base64 payload and signature as the check answers them; verify the decoded bytes exactly. Generated by `go test ./sdk/vectors -update`.", Cases: cs}
}

func offlineCases() OfflineFile {
	cur, prev, other := key("current"), key("previous"), key("stranger")
	o := &licet.Organization{ID: org, Name: "testcrm", URL: orgURL + "/"}
	users := []*licet.User{{ID: user, LicenseType: "Standard"}, {ID: user2, LicenseType: "Inspections"}, {ID: "161BAC34-1128-40B1-9653-00B9F54158CD", LicenseType: "Standard"}}
	until := iat.Add(30 * 24 * time.Hour)
	doc := offline.Build(cur, o, 3, users, iat, until)
	okCheck := OfflineCheck{Org: org, URL: orgURL, User: user, Now: ts(iat.Add(24 * time.Hour)), DriftSeconds: drift}
	valid := Expect{Valid: true, Reason: "ok", LicenseType: "Standard", Expires: ts(until)}
	refuse := func(reason string) Expect { return Expect{Reason: reason} }
	var cs []OfflineCase
	add := func(name, desc string, file []byte, c OfflineCheck, e Expect) {
		cs = append(cs, OfflineCase{Name: name, Description: desc, Trust: []string{"current", "previous"}, File: b64(file), Check: c, Expect: e})
	}
	with := func(f func(*OfflineCheck)) OfflineCheck { c := okCheck; f(&c); return c }
	add("valid", "an offline license as the server issues it, a day after", doc, okCheck, valid)
	add("valid-other-type", "a user listed under another license type", doc, with(func(c *OfflineCheck) { c.User = user2 }), Expect{Valid: true, Reason: "ok", LicenseType: "Inspections", Expires: ts(until)})
	add("valid-previous-key", "issued with an older key the app still trusts", offline.Build(prev, o, 3, users, iat, until), okCheck, valid)
	add("valid-check-forms", "the device's organization GUID in lower case with braces, user in lower case, URL with upper case, default port and trailing slash",
		doc, with(func(c *OfflineCheck) {
			c.Org, c.User, c.URL = "{"+strings.ToLower(org)+"}", strings.ToLower(user), "HTTPS://TestCRM.example.net:443/"
		}), valid)
	add("valid-within-drift-after-end", "the clock is past exp by less than the drift", doc, with(func(c *OfflineCheck) { c.Now = ts(until.Add(drift*time.Second - time.Second)) }), valid)
	add("valid-within-drift-before-start", "the clock is before nbf by exactly the drift", doc, with(func(c *OfflineCheck) { c.Now = ts(iat.Add(-drift * time.Second)) }), valid)

	nl := bytes.IndexByte(doc, '\n')
	i := bytes.Index(doc[nl:], []byte(user)) + nl
	add("tampered-payload", "one byte of a user ID changed after signing", flip(doc, i, 0x01), okCheck, refuse("bad-signature"))
	add("tampered-payload-trailing-newline", "a line feed appended: the payload is every byte after the first line feed", append(bytes.Clone(doc), '\n'), okCheck, refuse("bad-signature"))
	sigAt := len("licet-offline-v1 ") + len(cur.ID) + 1
	add("tampered-signature", "one character of the signature's base64 changed", func() []byte {
		c := bytes.Clone(doc)
		if c[sigAt+5] == 'A' {
			c[sigAt+5] = 'B'
		} else {
			c[sigAt+5] = 'A'
		}
		return c
	}(), okCheck, refuse("bad-signature"))
	add("other-organization", "checked by a device of another organization", doc, with(func(c *OfflineCheck) { c.Org = "5F767AFF-B33F-437C-A7CB-00249948C82B" }), refuse("wrong-organization"))
	add("other-url", "the file was issued for another organization URL", doc, with(func(c *OfflineCheck) { c.URL = "https://evil.example.net" }), refuse("wrong-url"))
	add("other-url-path", "the same host with another path is another URL", doc, with(func(c *OfflineCheck) { c.URL = orgURL + "/other" }), refuse("wrong-url"))
	add("other-url-scheme", "http is not https", doc, with(func(c *OfflineCheck) { c.URL = "http://testcrm.example.net" }), refuse("wrong-url"))
	add("user-absent", "a user the file does not list", doc, with(func(c *OfflineCheck) { c.User = stranger }), refuse("user-not-licensed"))
	add("expired", "the clock is past exp by the drift", doc, with(func(c *OfflineCheck) { c.Now = ts(until.Add(drift * time.Second)) }), refuse("expired"))
	add("not-yet-valid", "the clock is before nbf by more than the drift", doc, with(func(c *OfflineCheck) { c.Now = ts(iat.Add(-drift*time.Second - time.Second)) }), refuse("not-yet-valid"))
	add("unknown-key", "issued with a key the app does not trust", offline.Build(other, o, 3, users, iat, until), okCheck, refuse("unknown-key"))
	add("revoked-key", "issued with a key the device has since learnt was revoked", doc, with(func(c *OfflineCheck) { c.Revoked = []string{cur.ID} }), refuse("revoked-key"))
	add("valid-guids-without-hyphens", "the device's GUIDs without hyphens, in any case", doc, with(func(c *OfflineCheck) {
		c.Org, c.User = strings.ReplaceAll(org, "-", ""), strings.ToLower(strings.ReplaceAll(user, "-", ""))
	}), valid)
	idn := &licet.Organization{ID: org, Name: "bücher", URL: "https://Bücher.Example./CRM/"}
	idnDoc := offline.Build(cur, idn, 4, users, iat, until)
	add("valid-idn-url", "issued for an internationalized host (the file holds punycode); the device's URL in Unicode, upper case, trailing dot", idnDoc,
		with(func(c *OfflineCheck) { c.URL = "https://BÜCHER.example.:443/CRM" }), valid)
	add("valid-idn-url-punycode", "the same, the device's URL already in punycode", idnDoc, with(func(c *OfflineCheck) { c.URL = "https://xn--bcher-kva.example/CRM/" }), valid)
	add("idn-url-path-case", "the path keeps its case: /crm is not /CRM", idnDoc, with(func(c *OfflineCheck) { c.URL = "https://xn--bcher-kva.example/crm" }), refuse("wrong-url"))
	add("check-url-not-a-url", "a device URL that is no http(s) URL matches nothing", doc, with(func(c *OfflineCheck) { c.URL = "testcrm.example.net" }), refuse("wrong-url"))
	forged := offline.Build(other, o, 3, users, iat, until)
	forged = bytes.Replace(forged, []byte(other.ID), []byte(cur.ID), -1)
	add("forged-key-id", "signed by a stranger naming the trusted key's ID", forged, okCheck, refuse("bad-signature"))

	payload := doc[nl+1:]
	header := string(doc[:nl])
	sign := func(p []byte) string { return b64(ed25519.Sign(cur.Private, p)) }
	add("header-crlf", "the first line ends in CR LF: the header is exactly three fields separated by single spaces", []byte(header+"\r\n"+string(payload)), okCheck, refuse("malformed"))
	add("header-double-space", "two spaces between fields", []byte(strings.Replace(header, " ", "  ", 1)+"\n"+string(payload)), okCheck, refuse("malformed"))
	add("header-wrong-magic", "another format's first line", []byte(strings.Replace(header, "licet-offline-v1", "licet-offline-v2", 1)+"\n"+string(payload)), okCheck, refuse("malformed"))
	add("no-line-feed", "a file without a line feed", []byte(header), okCheck, refuse("malformed"))
	add("empty", "an empty file", []byte{}, okCheck, refuse("malformed"))
	add("not-a-license", "some other text file", []byte("hello\nworld"), okCheck, refuse("malformed"))
	add("short-signature", "a 63-byte signature", []byte(fmt.Sprintf("licet-offline-v1 %s %s\n%s", cur.ID, b64(ed25519.Sign(cur.Private, payload)[:63]), payload)), okCheck, refuse("malformed"))
	mk := func(p string) []byte {
		return []byte(fmt.Sprintf("licet-offline-v1 %s %s\n%s", cur.ID, sign([]byte(p)), p))
	}
	good := string(payload)
	add("signed-kid-mismatch", "the payload's kid is not the header's", mk(strings.Replace(good, `"kid":"`+cur.ID, `"kid":"`+prev.ID, 1)), okCheck, refuse("malformed"))
	add("signed-wrong-kind", `"kind" is not "offline"`, mk(strings.Replace(good, `"kind":"offline"`, `"kind":"lease"`, 1)), okCheck, refuse("malformed"))
	add("signed-version-2", "a payload version this verifier does not know", mk(strings.Replace(good, `"v":1`, `"v":2`, 1)), okCheck, refuse("malformed"))
	add("signed-unknown-member", "a member this version does not define", mk(strings.Replace(good, `"v":1`, `"v":1,"admin":true`, 1)), okCheck, refuse("malformed"))
	add("signed-users-not-lists", "users maps types to lists of IDs", mk(strings.Replace(good, `"users":{`, `"users":{"Extra":"x",`, 1)), okCheck, refuse("malformed"))
	add("signed-trailing-data", "a second JSON value after the payload", mk(good+"{}"), okCheck, refuse("malformed"))
	add("signed-time-with-offset", "times must be UTC, YYYY-MM-DDTHH:MM:SSZ", mk(strings.Replace(good, `"exp":"`+ts(until), `"exp":"`+until.Add(time.Hour).Format("2006-01-02T15:04:05")+"+01:00", 1)), okCheck, refuse("malformed"))
	add("signed-not-json", "the trusted key signed bytes that are not JSON", mk("not json"), okCheck, refuse("malformed"))
	add("signed-duplicate-key", "a member twice", mk(strings.Replace(good, `"org":`, `"org":"5F767AFF-B33F-437C-A7CB-00249948C82B","org":`, 1)), okCheck, refuse("malformed"))
	add("signed-users-twice-in-case", `"users" and "USERS"`, mk(strings.Replace(good, `"users":`, `"USERS":{"Standard":["`+stranger+`"]},"users":`, 1)), okCheck, refuse("malformed"))
	add("signed-member-in-other-case", `"URL" alone instead of "url"`, mk(strings.Replace(good, `"url":`, `"URL":`, 1)), okCheck, refuse("malformed"))
	add("signed-issued-in-future", "valid from long ago but issued after the device clock plus the drift", mk(strings.Replace(strings.Replace(good,
		`"iat":"`+ts(iat), `"iat":"`+ts(iat.Add(48*time.Hour)), 1), `"nbf":"`+ts(iat), `"nbf":"`+ts(iat.Add(-48*time.Hour)), 1)), okCheck, refuse("issued-in-future"))
	add("signed-too-long", "valid for longer than protocol.MaxOfflineValidity", mk(strings.Replace(good, `"exp":"`+ts(until), `"exp":"`+ts(iat.Add(protocol.MaxOfflineValidity+time.Second)), 1)), okCheck, refuse("too-long"))
	return OfflineFile{Comment: "Offline license files (base64 of the whole file). Generated by `go test ./sdk/vectors -update`.", Cases: cs}
}

type KeySetExpect struct {
	Valid   bool     `json:"valid"`
	Reason  string   `json:"reason"`            // "ok", "malformed" or "untrusted"
	Keys    []string `json:"keys,omitempty"`    // the IDs it lists, in order
	Revoked []string `json:"revoked,omitempty"` // the IDs it revokes, in order
}

type KeySetCase struct {
	Name        string                   `json:"name"`
	Description string                   `json:"description"`
	Trust       []string                 `json:"trust"`             // keys the device trusts (configured or pinned)
	Revoked     []string                 `json:"revoked,omitempty"` // key IDs the device already knows to be revoked
	KeySet      *protocol.KeySetEnvelope `json:"keySet"`            // as GET /v1/keys carries it
	Expect      KeySetExpect             `json:"expect"`
}

type KeySetFile struct {
	Comment string       `json:"comment"`
	Cases   []KeySetCase `json:"cases"`
}

func keySetCases() KeySetFile {
	cur, prev, other, bad := key("current"), key("previous"), key("stranger"), key("compromised")
	entry := func(k *keys.Key, state string) protocol.KeySetKey {
		return protocol.KeySetKey{KeyID: k.ID, Alg: "Ed25519", PublicKey: b64(k.Private.Public().(ed25519.PublicKey)), State: state, Created: ts(iat.AddDate(0, -1, 0))}
	}
	revokedBad := []protocol.RevokedKey{{KeyID: bad.ID, RevokedAt: ts(iat)}}
	sign := func(ks *protocol.KeySet, signers ...*keys.Key) *protocol.KeySetEnvelope {
		ks.Version, ks.Kind, ks.IssuedAt = 1, protocol.KeySetKind, ts(iat)
		if ks.Revoked == nil {
			ks.Revoked = []protocol.RevokedKey{}
		}
		ids, privs := []string{}, map[string]ed25519.PrivateKey{}
		for _, k := range signers {
			ids, privs[k.ID] = append(ids, k.ID), k.Private
		}
		env, err := protocol.SignKeySet(ks, ids, privs)
		if err != nil {
			panic(err)
		}
		return env
	}
	// raw signs hand-made payload bytes with each signer.
	raw := func(payload string, signers ...*keys.Key) *protocol.KeySetEnvelope {
		env := &protocol.KeySetEnvelope{Payload: b64([]byte(payload))}
		for _, k := range signers {
			env.Signatures = append(env.Signatures, protocol.KeySetSignature{KeyID: k.ID, Signature: b64(ed25519.Sign(k.Private, []byte(payload)))})
		}
		return env
	}
	rotated := sign(&protocol.KeySet{Keys: []protocol.KeySetKey{entry(cur, "active"), entry(prev, "retired")}}, cur, prev)
	revoking := sign(&protocol.KeySet{Keys: []protocol.KeySetKey{entry(cur, "active")}, Revoked: revokedBad}, cur)
	ok := func(ids []string, revoked ...string) KeySetExpect {
		return KeySetExpect{Valid: true, Reason: "ok", Keys: ids, Revoked: revoked}
	}
	refuse := func(r string) KeySetExpect { return KeySetExpect{Reason: r} }
	payload, _ := base64.StdEncoding.DecodeString(rotated.Payload)
	good := string(payload)
	var cs []KeySetCase
	add := func(name, desc string, trust, revoked []string, env *protocol.KeySetEnvelope, e KeySetExpect) {
		cs = append(cs, KeySetCase{Name: name, Description: desc, Trust: trust, Revoked: revoked, KeySet: env, Expect: e})
	}
	add("valid-rotated", "the active key and a retired one, each signing; the device trusts the active one", []string{"current"}, nil, rotated, ok([]string{cur.ID, prev.ID}))
	add("valid-anchored-by-retired", "the device still trusts only the retired key: it signed too", []string{"previous"}, nil, rotated, ok([]string{cur.ID, prev.ID}))
	add("valid-revocation", "the current key revokes the compromised one", []string{"current", "compromised"}, nil, revoking, ok([]string{cur.ID}, bad.ID))
	add("valid-first-fetch", "a device that trusts no key yet accepts the set on its own signatures (over https only: the client's rule)", nil, nil, rotated, ok([]string{cur.ID, prev.ID}))
	add("untrusted", "signed only by a key the device does not trust", []string{"current"}, nil, sign(&protocol.KeySet{Keys: []protocol.KeySetKey{entry(other, "active")}}, other), refuse("untrusted"))
	add("valid-only-revoked-anchor", "the device trusts only a key it knows to be revoked: as on a first fetch, the set stands on its own signatures (over https only)",
		[]string{"compromised"}, []string{bad.ID}, sign(&protocol.KeySet{Keys: []protocol.KeySetKey{entry(other, "active")}}, other), ok([]string{other.ID}))
	add("lists-known-revoked", "lists a key the device already knows to be revoked: stale or forged", []string{"current"}, []string{prev.ID}, rotated, refuse("untrusted"))
	add("missing-signature", "a listed key did not sign", []string{"current"}, nil, &protocol.KeySetEnvelope{Payload: rotated.Payload, Signatures: rotated.Signatures[:1]}, refuse("malformed"))
	tampered := &protocol.KeySetEnvelope{Payload: b64([]byte(strings.Replace(good, `"retired"`, `"active"`, 1))), Signatures: rotated.Signatures}
	add("tampered-payload", "a byte changed after signing", []string{"current"}, nil, tampered, refuse("malformed"))
	add("tampered-signature", "a signature of other bytes", []string{"current"}, nil, &protocol.KeySetEnvelope{Payload: rotated.Payload,
		Signatures: []protocol.KeySetSignature{rotated.Signatures[0], {KeyID: prev.ID, Signature: rotated.Signatures[0].Signature}}}, refuse("malformed"))
	wrongID := strings.Replace(good, `"kid":"`+prev.ID, `"kid":"`+other.ID, 1)
	add("key-id-mismatch", "a listed kid that is not its key's ID", []string{"current"}, nil, raw(wrongID, cur, prev), refuse("malformed"))
	listedRevoked := strings.Replace(good, `"revoked":[]`, `"revoked":[{"kid":"`+prev.ID+`","revokedAt":"`+ts(iat)+`"}]`, 1)
	add("listed-and-revoked", "a key both listed and revoked", []string{"current"}, nil, raw(listedRevoked, cur, prev), refuse("malformed"))
	add("bad-state", `a state other than "active" or "retired"`, []string{"current"}, nil, raw(strings.Replace(good, `"retired"`, `"signing"`, 1), cur, prev), refuse("malformed"))
	add("no-keys", "a set that lists no key", []string{"current"}, nil, raw(`{"v":1,"kind":"keyset","iat":"`+ts(iat)+`","keys":[],"revoked":[]}`), refuse("malformed"))
	add("wrong-kind", `"kind" is not "keyset"`, []string{"current"}, nil, raw(strings.Replace(good, `"keyset"`, `"offline"`, 1), cur, prev), refuse("malformed"))
	add("unknown-member", "a member a key set does not define", []string{"current"}, nil, raw(strings.Replace(good, `"v":1`, `"v":1,"note":"x"`, 1), cur, prev), refuse("malformed"))
	add("duplicate-member", `"revoked" twice: the second would hide a revocation from some verifiers`, []string{"current"}, nil,
		raw(strings.Replace(good, `"revoked":[]`, `"revoked":[{"kid":"`+bad.ID+`","revokedAt":"`+ts(iat)+`"}],"revoked":[]`, 1), cur, prev), refuse("malformed"))
	add("member-in-other-case", `"REVOKED" instead of "revoked"`, []string{"current"}, nil, raw(strings.Replace(good, `"revoked":`, `"REVOKED":`, 1), cur, prev), refuse("malformed"))
	add("payload-not-base64", "the payload is not standard padded base64", []string{"current"}, nil, &protocol.KeySetEnvelope{Payload: strings.TrimRight(rotated.Payload, "=") + "!", Signatures: rotated.Signatures}, refuse("malformed"))
	return KeySetFile{Comment: "Signed key sets as GET /v1/keys carries them (keySet). Generated by `go test ./sdk/vectors -update`.", Cases: cs}
}

func keyFile() KeyFile {
	kf := KeyFile{Comment: "Public keys the cases name in \"trust\". \"stranger\" signs cases that must be refused; \"compromised\" is the key the key sets revoke.", Keys: map[string]PublicKey{}}
	for _, n := range []string{"current", "previous", "stranger", "compromised"} {
		k := key(n)
		kf.Keys[n] = PublicKey{ID: k.ID, PEM: keys.PublicPEM(k.Private.Public().(ed25519.PublicKey))}
	}
	return kf
}

// TestVectorsAreCurrent makes the vectors from the server's signing code
// and compares them with the files: a change of format or behaviour must
// come with new vector files (go test ./sdk/vectors -update).
func TestVectorsAreCurrent(t *testing.T) {
	for name, v := range map[string]any{"keys.json": keyFile(), "leases.json": leaseCases(), "offline.json": offlineCases(), "keysets.json": keySetCases()} {
		want, err := json.MarshalIndent(v, "", "  ")
		if err != nil {
			t.Fatal(err)
		}
		want = append(want, '\n')
		if *update {
			if err := os.WriteFile(name, want, 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		got, err := os.ReadFile(name)
		if err != nil {
			t.Fatalf("%s: %v (make it with go test ./sdk/vectors -update)", name, err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s differs from what the signing code makes now: run go test ./sdk/vectors -update, check the diff, and make every verifier pass it", name)
		}
	}
}
