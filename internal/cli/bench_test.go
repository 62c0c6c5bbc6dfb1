package cli_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sync/atomic"
	"testing"
)

// BenchmarkCheckLicensed measures the hot path through the real server: a
// licensed user's check over HTTP, answered with a signed lease.
func BenchmarkCheckLicensed(b *testing.B) {
	s := start(b, b.TempDir(), nil, "--log-level", "error")
	org := s.newOrg(1, 1000)
	const users = 1000
	bodies := make([][]byte, users)
	for i := range users {
		bodies[i], _ = json.Marshal(map[string]string{"organizationId": org, "userId": guid('u', i), "deviceId": "d"})
		s.check(org, guid('u', i))
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	var n atomic.Int64
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := n.Add(1)
			resp, err := client.Post(s.url+"/v1/license/check", "application/json", bytes.NewReader(bodies[i%users]))
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
	s.stop()
}

// BenchmarkAssignmentBurst measures new users each taking a seat: the
// write path, serialized by the store.
func BenchmarkAssignmentBurst(b *testing.B) {
	s := start(b, b.TempDir(), nil, "--log-level", "error")
	org := s.newOrg(1, 1_000_000)
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	var n atomic.Int64
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := n.Add(1)
			body := fmt.Sprintf(`{"organizationId":%q,"userId":%q,"deviceId":"d"}`, org, guid('u', int(i)))
			resp, err := client.Post(s.url+"/v1/license/check", "application/json", bytes.NewReader([]byte(body)))
			if err != nil {
				b.Error(err)
				return
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
	})
	b.StopTimer()
	s.stop()
}
