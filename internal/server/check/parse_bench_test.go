package check

import (
	"mime"
	"testing"

	"github.com/licet/licet"
)

const jsonDoc = `{"version":"6.1.0.0","edition":"Resco","deviceId":"45d780e4f18354949676f743b0h11633951652bc","deviceInfo":"iPad 2 Wi-Fi only (iPad2,1) iPhone OS 6.0","organizationId":"4F767AFF-B33F-437C-A7CB-00249948C82B","organizationUrl":"https://testcrm.example.net","organizationName":"testcrm","userId":"661BAC34-1128-40B1-9653-00B9F54158CD"}`

func BenchmarkDecodeXMLFast(b *testing.B) {
	body := []byte(xmlSeeds[0])
	b.ReportAllocs()
	for b.Loop() {
		var r licet.CheckRequest
		if err := decodeXML(body, &r); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodeXMLEncodingXML(b *testing.B) {
	body := []byte(xmlSeeds[0])
	b.ReportAllocs()
	for b.Loop() {
		var r licet.CheckRequest
		if err := slowXML(body, &r); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodeJSON(b *testing.B) {
	body := []byte(jsonDoc)
	b.ReportAllocs()
	for b.Loop() {
		var r licet.CheckRequest
		if err := decodeJSON(body, &r); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkNormalize(b *testing.B) {
	var r0 licet.CheckRequest
	decodeJSON([]byte(jsonDoc), &r0)
	b.ReportAllocs()
	for b.Loop() {
		r := r0
		if err := r.Normalize(); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkAnswerXML(b *testing.B) {
	resp := checkResponse{Status: licet.StatusLicensed, Licensed: true, LicenseType: "Standard", Message: "licensed",
		Lease:     "eyJ2IjoxLCJvcmciOiI0Rjc2N0FGRi1CMzNGLTQzN0MtQTdDQi0wMDI0OTk0OEM4MkIiLCJ1c2VyIjoiNjYxQkFDMzQtMTEyOC00MEIxLTk2NTMtMDBCOUY1NDE1OENEIn0=",
		Signature: "xBztSsWmwHofNgepPJHk4nWa2fJgZNEn8b0nElLuTZ81TVF2/GVbO2gg3EVPSIXLR7ri0JMy7s8FDieq80LFDg==", KeyID: "6639af3f01d34114", Expires: "2026-12-03T21:16:50Z"}
	buf := make([]byte, 0, 1024)
	b.ReportAllocs()
	for b.Loop() {
		buf = resp.appendXML(buf[:0])
	}
}

// BenchmarkContentType compares reading a device's Content-Type with
// mime.ParseMediaType (as every check did) and with checkFormat.
func BenchmarkContentType(b *testing.B) {
	ct := []string{"application/json; charset=utf-8"}
	b.Run("mime.ParseMediaType", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			mime.ParseMediaType(ct[0])
		}
	})
	b.Run("checkFormat", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			checkFormat(ct)
		}
	})
}
