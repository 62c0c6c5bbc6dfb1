package check

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/licet/licet"
	"github.com/licet/licet/internal/licensing"
	"github.com/licet/licet/internal/payload"
	"github.com/licet/licet/internal/server/web"
)

type format int

const (
	formatJSON format = iota
	formatXML
)

// checkRequest is the MobileClient document; unknown elements are ignored.
type checkRequest struct {
	XMLName xml.Name `xml:"MobileClient" json:"-"`
	licet.CheckRequest
}

// checkResponse is the LicenseResponse; JSON uses the same names in camelCase.
type checkResponse struct {
	XMLName     xml.Name     `xml:"LicenseResponse" json:"-"`
	Status      licet.Status `xml:"Status" json:"status"`
	Licensed    bool         `xml:"Licensed" json:"licensed"`
	LicenseType string       `xml:"LicenseType" json:"licenseType"`
	Message     string       `xml:"Message" json:"message"`
	Lease       string       `xml:"Lease,omitempty" json:"lease,omitempty"`         // base64 of the signed bytes
	Signature   string       `xml:"Signature,omitempty" json:"signature,omitempty"` // base64`
	KeyID       string       `xml:"KeyId,omitempty" json:"keyId,omitempty"`
	Expires     string       `xml:"Expires,omitempty" json:"expires,omitempty"`

	// A lease signed for this answer comes as its bytes, written in
	// base64 straight into the answer, and its expiry as a time; Lease,
	// Signature and Expires are then empty. A reused lease comes encoded.
	lease, sig []byte
	expires    time.Time
}

// ServeHTTP answers a check.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	f, status, err := h.check(w, r)
	if err != nil {
		httpStatus, code := h.errors.Log(r, err)
		status = licet.Status("error:" + code)
		if code == web.ClientClosed {
			status = web.ClientClosed
		}
		if httpStatus == http.StatusServiceUnavailable {
			w.Header().Set("Retry-After", web.UnavailableRetry)
		}
		writeCheckError(w, f, httpStatus, payload.ErrorDetail{Code: code, Message: licet.ErrorMessage(err)})
	}
	if c, ok := h.byStatus[status]; ok {
		c.Inc()
	} else {
		h.checks.WithLabelValues(string(status)).Inc()
	}
	h.latency.Observe(time.Since(start).Seconds())
}

func (h *Handler) check(w http.ResponseWriter, r *http.Request) (format, licet.Status, error) {
	f, err := checkFormat(r.Header["Content-Type"])
	if err != nil {
		return f, "", err
	}
	buf := buffers.Get().(*bytes.Buffer)
	defer buffers.Put(buf)
	buf.Reset()
	if _, err := buf.ReadFrom(http.MaxBytesReader(w, r.Body, web.MaxBody)); err != nil {
		if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
			return f, "", licet.Errorf(licet.ETOOLARGE, "the request is larger than %d bytes", web.MaxBody)
		}
		return f, "", licet.Errorf(licet.EINVALID, "the request body could not be read")
	}
	// The decoders copy what they keep, so the buffer can be reused.
	body := buf.Bytes()
	var req licet.CheckRequest
	if f == formatXML {
		err = decodeXML(body, &req)
	} else {
		err = decodeJSON(body, &req)
	}
	if err != nil {
		return f, "", err
	}
	if err := req.Normalize(); err != nil {
		return f, "", err
	}
	if lag, stale := h.lag.stale(r.Context()); stale {
		// A backup too far behind stops vouching: its data may still
		// license users the primary has disabled since. Devices treat a
		// 503 as "cannot be reached" and fall back to their stored lease.
		w.Header().Set("Retry-After", strconv.Itoa(int(h.lag.retry.Seconds())))
		msg := "this backup server cannot tell how far its data is behind the primary; it confirms no license now"
		if lag >= 0 {
			msg = fmt.Sprintf("this backup server's data is %s behind the primary, more than its bound of %s; it confirms no license until it catches up", lag.Truncate(time.Second), h.maxLag)
		}
		writeCheckError(w, f, http.StatusServiceUnavailable, payload.ErrorDetail{Code: licet.EUNAVAILABLE, Message: msg})
		return f, "stale", nil
	}
	// Every device is held to its own rate; devices that hold no license
	// are held to the limits of h.gate as well.
	now := h.clock.Now()
	if h.deviceLimit != nil { // --rate-device 0: no key to make
		if ok, wait := h.deviceLimit.Allow(req.OrganizationID+"/"+req.UserID+"/"+req.DeviceID, now); !ok {
			w.Header().Set("Retry-After", web.RetryAfter(wait))
			h.limited.WithLabelValues("device").Inc()
			return f, "", licet.Errorf(licet.ERATE, "too many license checks from this device; retry after %s seconds", web.RetryAfter(wait))
		}
	}
	a, err := h.service.Check(r.Context(), &req, h.gate(w, r, req.OrganizationID, now))
	if err != nil {
		return f, "", err
	}
	resp := checkResponse{Status: a.Status, Licensed: a.Status.Licensed(), LicenseType: a.LicenseType,
		Message: a.Message, KeyID: a.KeyID, expires: a.Expires}
	if a.Lease != nil {
		resp.Lease, resp.Signature = a.LeaseBase64, a.SignatureBase64
		if resp.Lease == "" {
			resp.lease, resp.sig = a.Lease, a.Signature
		}
	}
	writeAnswer(w, f, &resp)
	return f, a.Status, nil
}

// checkFormat reads the Content-Type of a check. The types devices send
// are matched as they come; anything else goes through mime.ParseMediaType,
// which allocates a map for the parameters.
func checkFormat(ct []string) (format, error) {
	if len(ct) == 1 {
		switch ct[0] {
		case "application/json", "application/json; charset=utf-8":
			return formatJSON, nil
		case "application/xml", "text/xml", "application/xml; charset=utf-8", "text/xml; charset=utf-8":
			return formatXML, nil
		}
	}
	v := ""
	if len(ct) > 0 {
		v = ct[0]
	}
	mt, _, err := mime.ParseMediaType(v)
	switch {
	case err != nil:
		return formatJSON, licet.Errorf(licet.EUNSUPPORTED, "Content-Type must be application/xml, text/xml or application/json")
	case mt == "application/xml" || mt == "text/xml":
		return formatXML, nil
	case mt == "application/json":
		return formatJSON, nil
	}
	return formatJSON, licet.Errorf(licet.EUNSUPPORTED, "Content-Type %s is not supported; send application/xml, text/xml or application/json", mt)
}

// Header values of the check's answers, made once; net/http only reads
// them. A literal's capacity is its length, so a later Add copies.
var (
	noStore     = []string{"no-store"}
	contentJSON = []string{"application/json; charset=utf-8"}
	contentXML  = []string{"application/xml; charset=utf-8"}
)

func writeCheckError(w http.ResponseWriter, f format, httpStatus int, body payload.ErrorDetail) {
	if f == formatJSON {
		web.WriteJSON(w, httpStatus, payload.Error{Error: body})
		return
	}
	writeCheck(w, f, httpStatus, struct {
		XMLName xml.Name `xml:"Error"`
		payload.ErrorDetail
	}{ErrorDetail: body})
}

// writeAnswer writes a LicenseResponse, encoded without reflection.
func writeAnswer(w http.ResponseWriter, f format, r *checkResponse) {
	out := buffers.Get().(*bytes.Buffer)
	defer buffers.Put(out)
	out.Reset()
	if f == formatJSON {
		out.Write(r.appendJSON(out.AvailableBuffer()))
		out.WriteByte('\n')
	} else {
		out.Write(r.appendXML(out.AvailableBuffer()))
	}
	writeOut(w, f, http.StatusOK, out)
}

// writeCheck writes any other document of the check's protocol.
func writeCheck(w http.ResponseWriter, f format, status int, v any) {
	out := buffers.Get().(*bytes.Buffer)
	defer buffers.Put(out)
	out.Reset()
	if f == formatJSON {
		b, _ := json.Marshal(v)
		out.Write(b)
		out.WriteByte('\n')
	} else {
		b, _ := xml.MarshalIndent(v, "", "  ")
		out.WriteString(xml.Header)
		out.Write(b)
		out.WriteByte('\n')
	}
	writeOut(w, f, status, out)
}

func writeOut(w http.ResponseWriter, f format, status int, out *bytes.Buffer) {
	// The answer is written whole in one Write of a few hundred bytes, so
	// net/http sends it with a Content-Length it computes itself, headers
	// and body in one write system call (TestCheckAnswerOneWrite).
	h := w.Header()
	h["Cache-Control"] = noStore
	if f == formatJSON {
		h["Content-Type"] = contentJSON
	} else {
		h["Content-Type"] = contentXML
	}
	w.WriteHeader(status)
	w.Write(out.Bytes())
}

// appendXML writes the LicenseResponse as encoding/xml would, without its
// reflection: the hot path answers this document most.
func (r *checkResponse) appendXML(b []byte) []byte {
	b = append(b, xml.Header...)
	b = append(b, "<LicenseResponse>\n"...)
	b = appendElem(b, "Status", string(r.Status), false)
	b = appendElem(b, "Licensed", strconv.FormatBool(r.Licensed), true)
	b = appendElem(b, "LicenseType", r.LicenseType, false)
	b = appendElem(b, "Message", r.Message, false)
	for i := range plainMembers {
		if r.hasPlain(i) {
			b = append(append(append(b, "  <"...), plainMembers[i].xml...), '>')
			b = r.appendPlain(b, i)
			b = append(append(append(b, "</"...), plainMembers[i].xml...), ">\n"...)
		}
	}
	return append(b, "</LicenseResponse>\n"...)
}

// plainMembers are the answer's lease, signature, key ID (hex) and expiry
// (a formatted time): they hold no character XML or JSON escapes, so they
// are written as they are, and left out when empty.
var plainMembers = [...]struct{ xml, json string }{{"Lease", `,"lease":"`}, {"Signature", `,"signature":"`},
	{"KeyId", `,"keyId":"`}, {"Expires", `,"expires":"`}}

func (r *checkResponse) hasPlain(i int) bool {
	switch i {
	case 0:
		return r.Lease != "" || r.lease != nil
	case 1:
		return r.Signature != "" || r.sig != nil
	case 2:
		return r.KeyID != ""
	}
	return r.Expires != "" || !r.expires.IsZero()
}

func (r *checkResponse) appendPlain(b []byte, i int) []byte {
	switch i {
	case 0:
		return base64.StdEncoding.AppendEncode(append(b, r.Lease...), r.lease)
	case 1:
		return base64.StdEncoding.AppendEncode(append(b, r.Signature...), r.sig)
	case 2:
		return append(b, r.KeyID...)
	}
	if r.Expires != "" {
		return append(b, r.Expires...)
	}
	return r.expires.AppendFormat(b, licet.TimeFormat)
}

// appendElem appends one element of the XML answer, its value escaped
// unless plain.
func appendElem(b []byte, name, value string, plain bool) []byte {
	b = append(append(append(b, "  <"...), name...), '>')
	if plain {
		b = append(b, value...)
	} else {
		b = appendEscaped(b, value)
	}
	return append(append(append(b, "</"...), name...), ">\n"...)
}

// appendJSON writes the answer as encoding/json would (same members, same
// order, empty lease fields left out), without reflection.
func (r *checkResponse) appendJSON(b []byte) []byte {
	b = append(b, `{"status":`...)
	b = appendJSONString(b, string(r.Status))
	b = append(b, `,"licensed":`...)
	b = strconv.AppendBool(b, r.Licensed)
	b = append(b, `,"licenseType":`...)
	b = appendJSONString(b, r.LicenseType)
	b = append(b, `,"message":`...)
	b = appendJSONString(b, r.Message)
	for i := range plainMembers {
		if r.hasPlain(i) {
			b = append(r.appendPlain(append(b, plainMembers[i].json...), i), '"')
		}
	}
	return append(b, '}')
}

var appendJSONString = licensing.AppendJSONString

type appendWriter struct{ b *[]byte }

func (w appendWriter) Write(p []byte) (int, error) { *w.b = append(*w.b, p...); return len(p), nil }

func appendEscaped(b []byte, s string) []byte {
	plain := true
	for i := 0; i < len(s) && plain; i++ {
		switch c := s[i]; {
		case c < 0x20, c >= 0x80, c == '<', c == '>', c == '&', c == '\'', c == '"':
			plain = false
		}
	}
	if plain {
		return append(b, s...)
	}
	return appendEscapedSlow(b, s)
}

// appendEscapedSlow escapes s with encoding/xml. Apart from appendEscaped,
// so that taking b's address there does not move every b to the heap.
func appendEscapedSlow(b []byte, s string) []byte {
	xml.EscapeText(appendWriter{&b}, []byte(s))
	return b
}

var bom = []byte("\xef\xbb\xbf")

// buffers hold request bodies and answers between checks.
var buffers = sync.Pool{New: func() any { b := new(bytes.Buffer); b.Grow(2048); return b }}

// decodeXML reads one MobileClient document. A DTD is refused outright, so
// no entity can be declared, let alone expanded; only UTF-8 is read.
func decodeXML(body []byte, req *licet.CheckRequest) error {
	body = bytes.TrimSpace(bytes.TrimPrefix(body, bom))
	if hasDeclaration(body) {
		return licet.Errorf(licet.EINVALID, "a DOCTYPE is not allowed")
	}
	if r, ok := fastXML(body); ok {
		*req = r
		return nil
	}
	return slowXML(body, req)
}

// slowXML reads any MobileClient document with encoding/xml.
func slowXML(body []byte, req *licet.CheckRequest) error {
	d := xml.NewDecoder(bytes.NewReader(body))
	d.Strict = true
	d.CharsetReader = charsetReader
	var doc checkRequest
	if err := d.Decode(&doc); err != nil {
		var ue xml.UnmarshalError
		if errors.As(err, &ue) {
			return licet.Errorf(licet.EINVALID, "the document must be a MobileClient element")
		}
		return licet.Errorf(licet.EINVALID, "malformed XML: %s", trimXMLError(err))
	}
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		} else if err != nil {
			return licet.Errorf(licet.EINVALID, "malformed XML after the document: %s", trimXMLError(err))
		}
		switch t := tok.(type) {
		case xml.CharData:
			if len(bytes.TrimSpace(t)) > 0 {
				return licet.Errorf(licet.EINVALID, "text after the MobileClient element")
			}
		case xml.Comment, xml.ProcInst:
		default:
			return licet.Errorf(licet.EINVALID, "more than one document in the request")
		}
	}
	*req = doc.CheckRequest
	return nil
}

func trimXMLError(err error) string {
	s := err.Error()
	if len(s) > 200 {
		s = s[:200]
	}
	return s
}

// decodeJSON reads the same fields as JSON; unknown members are ignored as
// unknown XML elements are.
func decodeJSON(body []byte, req *licet.CheckRequest) error {
	body = bytes.TrimPrefix(body, bom)
	if r, ok := fastJSON(body); ok {
		*req = r
		return nil
	}
	return slowJSON(body, req)
}

// slowJSON reads any JSON check with encoding/json.
func slowJSON(body []byte, req *licet.CheckRequest) error {
	d := json.NewDecoder(bytes.NewReader(bytes.TrimPrefix(body, bom)))
	// Decoded apart and copied: handing req to the decoder would move
	// every caller's request to the heap.
	var r licet.CheckRequest
	if err := d.Decode(&r); err != nil {
		if te, ok := errors.AsType[*json.UnmarshalTypeError](err); ok {
			return licet.Errorf(licet.EINVALID, "%s must be a string", te.Field)
		}
		return licet.Errorf(licet.EINVALID, "malformed JSON")
	}
	if _, err := d.Token(); err != io.EOF {
		return licet.Errorf(licet.EINVALID, "more than one JSON value in the request")
	}
	*req = r
	return nil
}

// hasDeclaration reports a DOCTYPE or ENTITY declaration in any case,
// without copying the body.
func hasDeclaration(body []byte) bool {
	for i := 0; i+2 < len(body); i++ {
		if body[i] != '<' || body[i+1] != '!' {
			continue
		}
		rest := body[i+2:]
		if (len(rest) >= 7 && bytes.EqualFold(rest[:7], []byte("DOCTYPE"))) || (len(rest) >= 6 && bytes.EqualFold(rest[:6], []byte("ENTITY"))) {
			return true
		}
	}
	return false
}
