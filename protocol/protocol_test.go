package protocol

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"os"
	"strings"
	"testing"
)

type vectors struct {
	GUID []struct {
		In        string  `json:"in"`
		Canonical *string `json:"canonical"`
	} `json:"guid"`
	URL []struct {
		In        string  `json:"in"`
		Canonical *string `json:"canonical"`
	} `json:"url"`
	StrictJSON []struct {
		Doc       string `json:"doc"`
		DocBase64 string `json:"docBase64"`
		OK        bool   `json:"ok"`
		Why       string `json:"why"`
	} `json:"strictJson"`
}

func loadVectors(t *testing.T) vectors {
	t.Helper()
	b, err := os.ReadFile("testdata/vectors.json")
	if err != nil {
		t.Fatal(err)
	}
	var v vectors
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	if len(v.GUID) == 0 || len(v.URL) == 0 || len(v.StrictJSON) == 0 {
		t.Fatal("empty vectors")
	}
	return v
}

func TestGUIDVectors(t *testing.T) {
	for _, c := range loadVectors(t).GUID {
		got, ok := CanonicalGUID(c.In)
		switch {
		case c.Canonical == nil && ok:
			t.Errorf("CanonicalGUID(%q) = %q, want refused", c.In, got)
		case c.Canonical != nil && (!ok || got != *c.Canonical):
			t.Errorf("CanonicalGUID(%q) = %q, %v, want %q", c.In, got, ok, *c.Canonical)
		}
		if c.Canonical != nil && !SameGUID(c.In, *c.Canonical) {
			t.Errorf("SameGUID(%q, %q) = false", c.In, *c.Canonical)
		}
	}
}

// A GUID already in canonical form is the answer itself, not a copy: the
// check canonicalizes two per request.
func TestCanonicalGUIDKeepsACanonicalOne(t *testing.T) {
	in := "6F9619FF-8B86-D011-B42D-00CF4FC964FF"
	if got, ok := CanonicalGUID(in); !ok || got != in {
		t.Fatalf("CanonicalGUID(%q) = %q, %v", in, got, ok)
	}
	if n := testing.AllocsPerRun(100, func() { CanonicalGUID(in) }); n != 0 {
		t.Errorf("a canonical GUID cost %v allocations, want 0", n)
	}
	for _, other := range []string{"6f9619ff-8b86-d011-b42d-00cf4fc964ff", "{6F9619FF-8B86-D011-B42D-00CF4FC964FF}", "6F9619FF8B86D011B42D00CF4FC964FF"} {
		if got, ok := CanonicalGUID(other); !ok || got != in {
			t.Errorf("CanonicalGUID(%q) = %q, %v, want %q", other, got, ok, in)
		}
	}
	for _, bad := range []string{"6F9619FF-8B86-D011-B42D-00CF4FC964FG", "6F9619FF+8B86-D011-B42D-00CF4FC964FF", "6F9619FF-8B86-D011-B42D-00CF4FC964F"} {
		if got, ok := CanonicalGUID(bad); ok {
			t.Errorf("CanonicalGUID(%q) = %q, want refused", bad, got)
		}
	}
}

func TestURLVectors(t *testing.T) {
	for _, c := range loadVectors(t).URL {
		got, err := CanonicalURL(c.In)
		switch {
		case c.Canonical == nil && err == nil:
			t.Errorf("CanonicalURL(%q) = %q, want refused", c.In, got)
		case c.Canonical != nil && (err != nil || got != *c.Canonical):
			t.Errorf("CanonicalURL(%q) = %q, %v, want %q", c.In, got, err, *c.Canonical)
		}
		if c.Canonical != nil {
			// Canonical forms are fixed points.
			if again, err := CanonicalURL(*c.Canonical); err != nil || again != *c.Canonical {
				t.Errorf("CanonicalURL(%q) = %q, %v: not a fixed point", *c.Canonical, again, err)
			}
		}
	}
}

func TestStrictJSONVectors(t *testing.T) {
	for _, c := range loadVectors(t).StrictJSON {
		doc := []byte(c.Doc)
		if c.DocBase64 != "" {
			var err error
			if doc, err = base64.StdEncoding.DecodeString(c.DocBase64); err != nil {
				t.Fatal(err)
			}
		}
		err := CheckStrictJSON(doc)
		if c.OK != (err == nil) {
			t.Errorf("%s: CheckStrictJSON(%q) = %v, want ok=%v", c.Why, doc, err, c.OK)
		}
		if err != nil && !errors.Is(err, ErrNotStrict) {
			t.Errorf("%s: error %v does not wrap ErrNotStrict", c.Why, err)
		}
	}
}

func TestStrictJSONDepth(t *testing.T) {
	deep := strings.Repeat("[", MaxDepth+1) + strings.Repeat("]", MaxDepth+1)
	if err := CheckStrictJSON([]byte(deep)); err == nil {
		t.Error("a document nested deeper than MaxDepth was accepted")
	}
	ok := strings.Repeat("[", MaxDepth) + strings.Repeat("]", MaxDepth)
	if err := CheckStrictJSON([]byte(ok)); err != nil {
		t.Errorf("a document nested MaxDepth deep was refused: %v", err)
	}
}

func TestUnmarshalStrict(t *testing.T) {
	var v struct{ Users []string }
	if err := UnmarshalStrict([]byte(`{"users":["a"],"USERS":["b"]}`), &v); err == nil {
		t.Fatalf("UnmarshalStrict took a document Go alone would read as users=%v", v.Users)
	}
	if err := UnmarshalStrict([]byte(`{"users":["a"]}`), &v); err != nil || len(v.Users) != 1 {
		t.Fatalf("UnmarshalStrict = %v, %v", v, err)
	}
}

func FuzzCanonicalURL(f *testing.F) {
	for _, s := range []string{"https://Bücher.Example.", "http://a:80/b/", "https://[::1]:443"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c, err := CanonicalURL(s)
		if err != nil {
			return
		}
		if again, err := CanonicalURL(c); err != nil || again != c {
			t.Fatalf("CanonicalURL(%q) = %q, then %q, %v", s, c, again, err)
		}
	})
}

func TestSameHost(t *testing.T) {
	for _, c := range []struct {
		a, b string
		same bool
	}{
		{"https://xn--bcher-kva.example", "https://Bücher.Example./crm", true},
		{"https://crm.example.net", "http://CRM.example.net:8080/x", true},
		{"https://crm.example.net", "https://crm.example.net.evil.example", false},
		{"https://crm.example.net", "not a url", false},
		{"", "", false},
	} {
		if got := SameHost(c.a, c.b); got != c.same {
			t.Errorf("SameHost(%q, %q) = %v", c.a, c.b, got)
		}
	}
}
