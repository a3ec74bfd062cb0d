package admin

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"os"
	"path"
	"strings"
	"time"
)

// web holds the built-in UI.
//
//go:embed web
var web embed.FS

// contentPolicy confines the built-in UI to its own files and its own
// origin: it has no inline script or style and loads nothing from
// elsewhere, so an injected string can never run as code.
const contentPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; " +
	"img-src 'self' data:; connect-src 'self'; form-action 'self'; " +
	"base-uri 'none'; frame-ancestors 'none'"

// static serves the UI's files from the embedded build or a directory.
type static struct {
	fsys     fs.FS
	embedded bool
	// etags of the embedded files, which never change while the process
	// runs; files from a directory are validated by modification time.
	etags map[string]string
}

// newStatic returns the file server of the UI: the files of webPath when it
// is set, else the embedded ones.
func newStatic(webPath string, log *slog.Logger) *static {
	if webPath != "" {
		if fi, err := os.Stat(webPath); err != nil || !fi.IsDir() {
			log.Warn("admin.web_path is not a readable directory: the UI will "+
				"answer 404", "web_path", webPath, "error", err)
		}
		return &static{fsys: os.DirFS(webPath)}
	}

	sub, err := fs.Sub(web, "web")
	if err != nil {
		panic("admin: embedded UI missing: " + err.Error())
	}
	s := &static{fsys: sub, embedded: true, etags: map[string]string{}}
	_ = fs.WalkDir(sub, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(sub, p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(b)
		s.etags[p] = `"` + hex.EncodeToString(sum[:8]) + `"`
		return nil
	})
	return s
}

// serveStatic serves the UI file at path (relative to the prefix, with a
// leading slash). Paths under /admin/ name endpoints, never files: the ones
// this server does not implement are 404.
func (h *Handler) serveStatic(w http.ResponseWriter, r *http.Request, p string) {
	if strings.HasPrefix(p, "/admin/") {
		http.NotFound(w, r)
		return
	}
	if !allowGet(w, r) {
		return
	}
	h.static.serve(w, r, p)
}

func (s *static) serve(w http.ResponseWriter, r *http.Request, p string) {
	name := strings.TrimPrefix(path.Clean(p), "/")
	if name == "" {
		name = "index.html"
	}
	f, err := s.fsys.Open(name)
	if err != nil {
		http.NotFound(w, r)
		return
	}
	defer func() { _ = f.Close() }()
	fi, err := f.Stat()
	if err != nil || fi.IsDir() {
		// Directories are not listed: the UI has an index only at its root.
		http.NotFound(w, r)
		return
	}
	content, err := readSeeker(f)
	if err != nil {
		http.Error(w, "Internal Server Error", http.StatusInternalServerError)
		return
	}

	hdr := w.Header()
	hdr.Set("X-Content-Type-Options", "nosniff")
	hdr.Set("X-Frame-Options", "DENY")
	hdr.Set("Referrer-Policy", "no-referrer")
	// Every load revalidates, so that an upgraded server never runs a UI
	// cached from the previous version.
	hdr.Set("Cache-Control", "no-cache")
	var modtime time.Time
	if s.embedded {
		hdr.Set("Content-Security-Policy", contentPolicy)
		hdr.Set("ETag", s.etags[name])
	} else {
		modtime = fi.ModTime()
	}
	http.ServeContent(w, r, name, modtime, content)
}

// readSeeker returns f as an io.ReadSeeker, reading it whole if it cannot
// seek.
func readSeeker(f fs.File) (io.ReadSeeker, error) {
	if rs, ok := f.(io.ReadSeeker); ok {
		return rs, nil
	}
	b, err := io.ReadAll(f)
	if err != nil {
		return nil, fmt.Errorf("admin: read UI file: %w", err)
	}
	return bytes.NewReader(b), nil
}
