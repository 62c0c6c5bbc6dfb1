package cli_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/licet/licet/internal/storetest"
)

// benchFlags turn every limit off, as load tests run.
var benchFlags = []string{"--log-level", "error", "--rate-org", "0", "--rate-device", "0", "--rate-admissions", "0", "--rate-new-ip", "0"}

// databases runs a benchmark on SQLite and on PostgreSQL.
func databases(b *testing.B, fn func(b *testing.B, s *server)) {
	b.Run("sqlite", func(b *testing.B) {
		fn(b, start(b, b.TempDir(), nil, benchFlags...))
	})
	b.Run("postgres", func(b *testing.B) {
		fn(b, start(b, b.TempDir(), nil, append(benchFlags, "--database", storetest.PostgresURL(b))...))
	})
}

// post sends checks from parallel clients over kept-alive connections.
func post(b *testing.B, s *server, body func(i int64) []byte) {
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	defer client.CloseIdleConnections()
	var n atomic.Int64
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			resp, err := client.Post(s.url+"/v1/license/check", "application/json", bytes.NewReader(body(n.Add(1))))
			if err != nil {
				b.Error(err)
				return
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 {
				b.Errorf("status %d", resp.StatusCode)
			}
		}
	})
	b.StopTimer()
}

// BenchmarkCheckLicensed measures the hot path through the real server: a
// licensed user's check over HTTP, answered with a signed lease.
func BenchmarkCheckLicensed(b *testing.B) {
	databases(b, checkLicensed)
}

// checkLicensed drives 1,000 licensed users' checks at s.
func checkLicensed(b *testing.B, s *server) {
	org := s.newOrg(1, 1000)
	const users = 1000
	bodies := make([][]byte, users)
	for i := range users {
		bodies[i], _ = json.Marshal(map[string]string{"organizationId": org, "userId": guid('u', i), "deviceId": "d"})
		s.check(org, guid('u', i))
	}
	post(b, s, func(i int64) []byte { return bodies[i%users] })
}

// BenchmarkCheckLicensedLimitsOn is BenchmarkCheckLicensed with the limits
// on strangers switched on but set so high that nothing is refused: what
// classifying each check (known device or new pair) costs the hot path.
func BenchmarkCheckLicensedLimitsOn(b *testing.B) {
	checkLicensed(b, start(b, b.TempDir(), nil, "--log-level", "error", "--rate-device", "0", "--rate-org", "1000000",
		"--rate-new-ip", "60000000", "--rate-admissions", "60000000"))
}

// BenchmarkAssignmentBurst measures new users each taking a seat: the
// write path, serialized per organization by the store.
func BenchmarkAssignmentBurst(b *testing.B) {
	databases(b, func(b *testing.B, s *server) {
		org := s.newOrg(1, 1_000_000)
		post(b, s, func(i int64) []byte {
			return fmt.Appendf(nil, `{"organizationId":%q,"userId":%q,"deviceId":"d"}`, org, guid('u', int(i)))
		})
	})
}

// BenchmarkConsoleUsersPage measures one page of Mobile Users (50 rows and
// the counts) in an organization of 100,000 users, at random depths.
func BenchmarkConsoleUsersPage(b *testing.B) {
	s := start(b, b.TempDir(), nil, "--log-level", "error", "--rate-org", "0", "--rate-device", "0", "--rate-admissions", "0", "--rate-new-ip", "0")
	org := s.newOrg(1, 100_000)
	for k := 0; k < 100_000; k += 10_000 {
		var ids []string
		for i := k; i < k+10_000; i++ {
			ids = append(ids, guid('u', i))
		}
		body, _ := json.Marshal(map[string]any{"action": "assign", "userIds": ids})
		if code, out := s.op("POST", "/v1/orgs/"+org+"/users/batch", s.token(), "application/json", string(body)); code != 200 {
			b.Fatalf("seed: %d %s", code, out)
		}
	}
	link := s.mustLicet("admin", "add", "--org", org, "--email", "bench@customer.example")
	link = link[strings.LastIndex(strings.TrimSpace(link), "\n")+1:]
	c := browserless(&testing.T{})
	c.PostForm(strings.TrimSpace(link), url.Values{"password": {adminPW}, "confirm": {adminPW}})
	c.PostForm(s.url+"/admin/login", url.Values{"email": {"bench@customer.example"}, "password": {adminPW}})
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		resp, err := c.Get(fmt.Sprintf("%s/admin/orgs/%s/users?state=licensed&after=%s", s.url, org, guid('u', (i*3967)%100_000)))
		if err != nil || resp.StatusCode != 200 {
			b.Fatalf("%v %v", err, resp.Status)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
}

// BenchmarkAssignmentBurstNotified is BenchmarkAssignmentBurst with
// notifications on to three addresses: each assignment also joins (or
// starts) a pending mail per address in its transaction.
func BenchmarkAssignmentBurstNotified(b *testing.B) {
	databases(b, func(b *testing.B, s *server) {
		org := s.newOrg(1, 1_000_000, "--notifications=true", "--notification-emails", "a@customer.example,b@customer.example,c@customer.example", "--notify-window", "10")
		post(b, s, func(i int64) []byte {
			return fmt.Appendf(nil, `{"organizationId":%q,"userId":%q,"deviceId":"d"}`, org, guid('u', int(i)))
		})
	})
}

// BenchmarkCheckField is the check as the field sends it: every check
// signs a new lease (--lease-reuse 0, as for devices that check in hours
// apart) and the request log is on, as in production.
func BenchmarkCheckField(b *testing.B) {
	s := start(b, b.TempDir(), nil, "--log-level", "info", "--lease-reuse", "0", "--rate-org", "0", "--rate-device", "0", "--rate-admissions", "0", "--rate-new-ip", "0")
	org := s.newOrg(1, 1000)
	const users = 1000
	bodies := make([][]byte, users)
	for i := range users {
		bodies[i], _ = json.Marshal(map[string]string{"organizationId": org, "userId": guid('u', i), "deviceId": "d"})
		s.check(org, guid('u', i))
	}
	post(b, s, func(i int64) []byte { return bodies[i%users] })
}

// BenchmarkAssignmentBurstHalfRefused is the burst of issue 19: new users
// on half as many seats, so that every other check is refused for lack of
// seats and recorded (the refused users capped by the stranger cap).
func BenchmarkAssignmentBurstHalfRefused(b *testing.B) {
	databases(b, func(b *testing.B, s *server) {
		org := s.newOrg(1, max(1, b.N/2))
		post(b, s, func(i int64) []byte {
			return fmt.Appendf(nil, `{"organizationId":%q,"userId":%q,"deviceId":"d"}`, org, guid('u', int(i)))
		})
	})
}
