package admin

import (
	"io/fs"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

func TestStaticFiles(t *testing.T) {
	h, _ := newTest(t, false)
	tests := []struct {
		method, path string
		want         int
		wantType     string
		wantBody     string
	}{
		{http.MethodGet, "/", http.StatusOK, "text/html", `<div id="app"`},
		{http.MethodHead, "/", http.StatusOK, "text/html", ""},
		{http.MethodGet, "/js/main.js", http.StatusOK, "text/javascript", "import"},
		{http.MethodGet, "/css/admin.css", http.StatusOK, "text/css", ":root"},
		{http.MethodGet, "/img/logo.svg", http.StatusOK, "image/svg+xml", "<svg"},
		{http.MethodGet, "/js/", http.StatusNotFound, "", ""},
		{http.MethodGet, "/missing.js", http.StatusNotFound, "", ""},
		{http.MethodGet, "/../static.go", http.StatusNotFound, "", ""},
		{http.MethodGet, "/admin/trace", http.StatusNotFound, "", ""},
		{http.MethodPost, "/admin/namespaces", http.StatusNotFound, "", ""},
		{http.MethodPost, "/", http.StatusMethodNotAllowed, "", ""},
	}
	for _, tt := range tests {
		rp := serve(h, tt.method, tt.path, nil)
		if rp.status != tt.want {
			t.Errorf("%s %s: %d, want %d", tt.method, tt.path, rp.status, tt.want)
			continue
		}
		if tt.want != http.StatusOK {
			continue
		}
		if ct := rp.header.Get("Content-Type"); !strings.HasPrefix(ct, tt.wantType) {
			t.Errorf("%s: Content-Type %q, want %s", tt.path, ct, tt.wantType)
		}
		if !strings.Contains(rp.body, tt.wantBody) {
			t.Errorf("%s: body does not contain %q", tt.path, tt.wantBody)
		}
		if csp := rp.header.Get("Content-Security-Policy"); !strings.Contains(csp,
			"script-src 'self'") {
			t.Errorf("%s: Content-Security-Policy %q", tt.path, csp)
		}
		if rp.header.Get("X-Frame-Options") != "DENY" {
			t.Errorf("%s: may be framed", tt.path)
		}
	}
}

// Embedded files are revalidated by ETag, so an upgrade is seen at once
// and an unchanged file costs no body.
func TestStaticRevalidation(t *testing.T) {
	h, _ := newTest(t, false)
	rp := serve(h, http.MethodGet, "/js/main.js", nil)
	etag := rp.header.Get("ETag")
	if etag == "" || rp.header.Get("Cache-Control") != "no-cache" {
		t.Fatalf("ETag %q, Cache-Control %q", etag, rp.header.Get("Cache-Control"))
	}
	rp = serve(h, http.MethodGet, "/js/main.js", nil, "If-None-Match", etag)
	if rp.status != http.StatusNotModified {
		t.Errorf("revalidation: %d, want 304", rp.status)
	}
}

// Every file that the page or a module refers to is embedded, so that the
// UI never asks for a file that is not there, or for one elsewhere.
func TestStaticReferences(t *testing.T) {
	sub, err := fs.Sub(web, "web")
	if err != nil {
		t.Fatal(err)
	}
	refs := map[string]*regexp.Regexp{
		".html": regexp.MustCompile(`(?:src|href)="([^"]+)"`),
		".js":   regexp.MustCompile(`(?:from|import) '([^']+)'|src: '([^']+)'`),
	}
	checked := 0
	err = fs.WalkDir(sub, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		re := refs[path.Ext(p)]
		if re == nil {
			return nil
		}
		b, err := fs.ReadFile(sub, p)
		if err != nil {
			return err
		}
		for _, m := range re.FindAllStringSubmatch(string(b), -1) {
			ref := strings.Join(m[1:], "")
			if strings.Contains(ref, "//") || strings.HasPrefix(ref, "/") {
				t.Errorf("%s refers to %q outside the UI", p, ref)
				continue
			}
			target := path.Join(path.Dir(p), ref)
			if path.Ext(p) == ".js" && strings.HasPrefix(m[0], "src") {
				// Image sources in scripts resolve against the page.
				target = path.Clean(ref)
			}
			if _, err := fs.Stat(sub, target); err != nil {
				t.Errorf("%s refers to %q, which is not embedded", p, ref)
			}
			checked++
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if checked < 10 {
		t.Errorf("checked only %d references", checked)
	}
}

func TestStaticWebPath(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "index.html"), []byte("custom UI"),
		0o644); err != nil {
		t.Fatal(err)
	}
	h, _ := newTest(t, false, func(c *Config) { c.WebPath = dir })
	rp := serve(h, http.MethodGet, "/", nil)
	if rp.status != http.StatusOK || rp.body != "custom UI" {
		t.Fatalf("GET /: %d %q, want the directory's index.html", rp.status, rp.body)
	}
	if rp.header.Get("Content-Security-Policy") != "" {
		t.Errorf("a UI of one's own gets no policy made for the built-in one")
	}
	if rp := serve(h, http.MethodGet, "/js/main.js", nil); rp.status != http.StatusNotFound {
		t.Errorf("built-in file through web_path: %d, want 404", rp.status)
	}

	h, logs := newTest(t, false, func(c *Config) { c.WebPath = filepath.Join(dir, "none") })
	if rp := serve(h, http.MethodGet, "/", nil); rp.status != http.StatusNotFound {
		t.Errorf("missing web_path: %d, want 404", rp.status)
	}
	if !strings.Contains(logs.String(), "web_path is not a readable directory") {
		t.Errorf("missing web_path not logged:\n%s", logs)
	}
}

// Under a prefix everything moves below it, and the bare prefix redirects
// to the UI so that its relative URLs resolve.
func TestPrefix(t *testing.T) {
	h, _ := newTest(t, false, func(c *Config) { c.Prefix = "herald/" })
	if p := h.Pattern(); p != "/herald/" {
		t.Fatalf("Pattern %q, want /herald/", p)
	}
	mux := http.NewServeMux()
	mux.Handle(h.Pattern(), h)

	tests := []struct {
		path string
		want int
	}{
		{"/herald/", http.StatusOK},
		{"/herald/admin/settings", http.StatusOK},
		{"/herald/js/main.js", http.StatusOK},
		{"/herald", http.StatusTemporaryRedirect},
		{"/admin/settings", http.StatusNotFound},
		{"/heraldx/", http.StatusNotFound},
	}
	for _, tt := range tests {
		if rp := serve(mux, http.MethodGet, tt.path, nil); rp.status != tt.want {
			t.Errorf("GET %s: %d, want %d", tt.path, rp.status, tt.want)
		}
	}

	// Mounted elsewhere than its prefix, the handler serves nothing.
	if rp := serve(h, http.MethodGet, "/other/", nil); rp.status != http.StatusNotFound {
		t.Errorf("path outside the prefix: %d, want 404", rp.status)
	}
	if rp := serve(h, http.MethodGet, "/heraldx", nil); rp.status != http.StatusNotFound {
		t.Errorf("path sharing the prefix's letters: %d, want 404", rp.status)
	}
}
