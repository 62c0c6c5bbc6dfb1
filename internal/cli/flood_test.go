package cli_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/licet/licet"
)

// TestFloodOfStrangers: the check is unauthenticated, so anyone who knows
// an organization's ID can flood it. 32 connections send random user IDs
// and known user IDs on new devices at a 5-seat organization for several
// seconds, against the real binary with its default limits (issue 13). A
// licensed device checking in every 0.4 s gets 200 Licensed every time;
// the organization keeps at most 100 users without a license; the new
// devices get 429 with Retry-After; the administrators get one "unusual
// license activity" mail, not one per minute.
func TestFloodOfStrangers(t *testing.T) {
	sk := startSink(t, "127.0.0.1:0")
	s := startProcess(t, t.TempDir(), "", mailFlags(sk.addr)...) // --rate-device 0: the licensed device checks often
	org := s.newOrg(1, 5, "--notifications=true", "--notification-emails", "it@customer.example")
	s.mustLicet("admin", "add", "--org", org, "--email", "alice@customer.example")
	licensed := make([]string, 5)
	for i := range licensed {
		licensed[i] = guid('u', i)
		if a := s.check(org, licensed[i]); a.Status != licet.StatusLicensed {
			t.Fatalf("seat %d: %s", i, a.Status)
		}
	}
	// The device the test watches has checked in once already (above).
	watched := licensed[0]

	post := func(c *http.Client, user, device string) (*http.Response, error) {
		body, _ := json.Marshal(map[string]string{"organizationId": org, "userId": user, "deviceId": device, "organizationUrl": "https://crm.example.net"})
		resp, err := c.Post(s.url+"/v1/license/check", "application/json", bytes.NewReader(body))
		if err == nil {
			resp.Body.Close()
		}
		return resp, err
	}
	var codes sync.Map // status code → *atomic.Int64
	count := func(code int) {
		v, _ := codes.LoadOrStore(code, new(atomic.Int64))
		v.(*atomic.Int64).Add(1)
	}
	var noRetryAfter atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for c := range 32 {
		wg.Go(func() {
			client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 1}, Timeout: 10 * time.Second}
			for n := 0; ; n++ {
				select {
				case <-stop:
					return
				default:
				}
				user := guid('f', rand.IntN(1<<30))
				if n%2 == 1 {
					user = licensed[rand.IntN(len(licensed))] // a known user on a new device
				}
				resp, err := post(client, user, fmt.Sprintf("flood-%d-%d", c, n))
				if err != nil {
					continue
				}
				count(resp.StatusCode)
				if resp.StatusCode == 429 && resp.Header.Get("Retry-After") == "" {
					noRetryAfter.Add(1)
				}
			}
		})
	}
	var watchedOK, watchedBad int
	var bad []string
	for range 15 { // 6 seconds
		time.Sleep(400 * time.Millisecond)
		body, _ := json.Marshal(map[string]string{"organizationId": org, "userId": watched, "deviceId": "dev-" + watched})
		resp, err := http.Post(s.url+"/v1/license/check", "application/json", bytes.NewReader(body))
		if err != nil {
			watchedBad++
			bad = append(bad, err.Error())
			continue
		}
		var a answer
		json.NewDecoder(resp.Body).Decode(&a)
		resp.Body.Close()
		if resp.StatusCode == 200 && a.Status == licet.StatusLicensed {
			watchedOK++
		} else {
			watchedBad++
			bad = append(bad, fmt.Sprintf("%d %s", resp.StatusCode, a.Status))
		}
	}
	close(stop)
	wg.Wait()
	summary := map[int]int64{}
	codes.Range(func(k, v any) bool { summary[k.(int)] = v.(*atomic.Int64).Load(); return true })
	t.Logf("flood answers by HTTP status: %v; the licensed device: %d of 15 licensed", summary, watchedOK)

	if watchedBad > 0 {
		t.Errorf("the licensed device was refused %d times during the flood: %v", watchedBad, bad)
	}
	if summary[429] == 0 || summary[200] == 0 {
		t.Errorf("flood answers %v: want the first new devices answered, then 429", summary)
	}
	if noRetryAfter.Load() > 0 {
		t.Errorf("%d answers 429 without Retry-After", noRetryAfter.Load())
	}
	if summary[500]+summary[503] > 0 {
		t.Errorf("the flood caused server errors: %v", summary)
	}

	// At most 100 users without a license; the 5 licensed ones untouched.
	var list struct {
		Users []licet.User `json:"users"`
		Total int          `json:"total"`
	}
	code, out := s.op("GET", "/v1/orgs/"+org+"/users?state=unlicensed&limit=1000", s.token(), "", "")
	if code != 200 {
		t.Fatalf("%d %s", code, out)
	}
	mustJSON(t, out, &list)
	if list.Total > 100 || list.Total == 0 {
		t.Errorf("%d users without a license kept; want between 1 and 100", list.Total)
	}
	if c := s.orgShow(org)["Standard"]; c.Used != 5 || c.Total != 5 {
		t.Errorf("seats after the flood: %+v", c)
	}

	// One alert per address, with counts and the busiest source; a second
	// flood within the hour sends none.
	msgs := sk.waitFor(t, 4) // the alert to both addresses, and the assignment notification of the seats
	alerts := map[string]int{}
	for _, m := range msgs {
		p := parseMail(t, m.raw)
		if !strings.HasPrefix(p.header.Get("Subject"), "Unusual license activity in org1") {
			continue
		}
		for _, to := range m.to {
			alerts[to]++
		}
		for _, want := range []string{org, "were refused for rate", "were admitted", "127.0.0.1", "at most once an hour"} {
			if !strings.Contains(p.text, want) {
				t.Errorf("the alert lacks %q:\n%s", want, p.text)
			}
		}
	}
	if len(alerts) != 2 || alerts["alice@customer.example"] != 1 || alerts["it@customer.example"] != 1 {
		t.Errorf("alert mails by address %v; want one to the administrator and one to the listed address (%d mails in all)", alerts, len(msgs))
	}
	client := &http.Client{}
	for i := range 300 {
		post(client, guid('g', i), "again")
	}
	time.Sleep(1500 * time.Millisecond)
	if n := len(sk.messages()); n != len(msgs) {
		t.Errorf("a second flood within the hour sent %d more mails", n-len(msgs))
	}
	if audit := s.mustLicet("audit", "--org", org); strings.Count(audit, "organization.activity_alert") != 1 {
		t.Errorf("the alert is not audited once:\n%s", audit)
	}
}

// TestAdmissionsLimitAndURLBinding: checks that would write are limited per
// organization (the server's default, or the organization's own), known
// devices pass whatever the limit; URL binding, off by default, answers
// UnknownOrganization to a check that names another host.
func TestAdmissionsLimitAndURLBinding(t *testing.T) {
	s := start(t, "", nil, "--rate-device", "0", "--rate-admissions", "6") // bursts of 20
	org := s.newOrg(1, 100)
	checkURL := func(user, orgURL string) (answer, string) {
		body, _ := json.Marshal(map[string]string{"organizationId": org, "userId": user, "deviceId": "dev-" + user, "organizationUrl": orgURL})
		resp, err := http.Post(s.url+"/v1/license/check", "application/json", bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var a answer
		json.NewDecoder(resp.Body).Decode(&a)
		a.HTTP = resp.StatusCode
		return a, resp.Header.Get("Retry-After")
	}
	for i := range 20 {
		if a := s.check(org, guid('u', i)); a.Status != licet.StatusLicensed {
			t.Fatalf("new user %d within the burst: %d %s", i, a.HTTP, a.Status)
		}
	}
	a, retry := checkURL(guid('u', 20), "")
	if a.HTTP != 429 || retry == "" || !strings.Contains(a.Error.Message, "admissions") {
		t.Errorf("the 21st admission in a burst of 20: %d %q retry %q", a.HTTP, a.Error.Message, retry)
	}
	if a := s.check(org, guid('u', 3)); a.HTTP != 200 || a.Status != licet.StatusLicensed {
		t.Errorf("a licensed device while admissions are refused: %d %s", a.HTTP, a.Status)
	}
	// The operator lifts the limit for this organization only.
	s.mustLicet("org", "set", "--org", org, "--rate-admissions", "0")
	for i := 20; i < 30; i++ {
		if a := s.check(org, guid('u', i)); a.Status != licet.StatusLicensed {
			t.Errorf("new user %d with no admissions limit: %d %s", i, a.HTTP, a.Status)
		}
	}
	other := s.newOrg(2, 100)
	for i := range 21 {
		a := s.check(other, guid('u', 100+i))
		if (i < 20) != (a.HTTP == 200) {
			t.Errorf("another organization keeps the server's default: check %d answered %d", i, a.HTTP)
		}
	}

	// URL binding: off by default, OrganizationUrl is informative.
	if a, _ := checkURL(guid('u', 1), "https://attacker.example"); a.Status != licet.StatusLicensed {
		t.Errorf("binding off, another host: %s", a.Status)
	}
	s.mustLicet("org", "set", "--org", org, "--bind-url=true")
	for _, tc := range []struct {
		url  string
		want licet.Status
	}{
		{"https://CRM.example.net/", licet.StatusLicensed},
		{"https://attacker.example", licet.StatusUnknownOrganization},
		{"", licet.StatusUnknownOrganization},
	} {
		if a, _ := checkURL(guid('u', 1), tc.url); a.Status != tc.want || a.Licensed != (tc.want == licet.StatusLicensed) || a.Licensed != (a.Lease != "") {
			t.Errorf("binding on, a licensed user, url %q: %s (lease %v)", tc.url, a.Status, a.Lease != "")
		}
	}
	unknown, _ := checkURL(guid('u', 1), "https://attacker.example")
	if real := s.check(guid('o', 99), guid('u', 1)); real.Message != unknown.Message {
		t.Errorf("a bound organization answers differently from an unknown one: %q vs %q", unknown.Message, real.Message)
	}
	if _, err := s.licet("org", "set", "--org", org, "--rate-admissions", "-5"); err == nil {
		t.Error("--rate-admissions -5 accepted")
	}
}
