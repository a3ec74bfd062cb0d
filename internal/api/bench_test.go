package api

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"testing"
)

// resultPrefix starts every successful answer of the benchmarked routes;
// a failed command answers {"error":...} instead.
var resultPrefix = []byte(`{"result":`)

// BenchmarkPublishHandler measures a publish through the whole handler
// (routing, key check, body read, decode, engine publish, encode) without
// the network: the request and recorder are reused, so the allocations
// reported are the handler's own plus the memory engine's. Every answer is
// checked to be a result: a publish that failed fast would measure nothing.
//
//	go test ./internal/api/ -run '^$' -bench PublishHandler -benchmem
func BenchmarkPublishHandler(b *testing.B) {
	data := `{"channel":"news","data":{"text":"hello, world","n":42,"tags":["a","b"]}}`
	cases := []struct{ name, path, body string }{
		{"per-method", "/api/publish", data},
		{"legacy", "/api", `{"method":"publish","params":` + data + `}`},
		{"history", "/api/publish",
			`{"channel":"hist:a","data":{"text":"hello, world","n":42}}`},
	}
	for _, bc := range cases {
		b.Run(bc.name, func(b *testing.B) {
			e := newEnv(b)
			body := []byte(bc.body)
			rd := bytes.NewReader(body)
			req := httptest.NewRequest(http.MethodPost, bc.path, rd)
			req.Header.Set("X-API-Key", testKey)
			rec := httptest.NewRecorder()
			b.ReportAllocs()
			b.SetBytes(int64(len(body)))
			for b.Loop() {
				rd.Reset(body)
				rec.Body.Reset()
				e.handler.ServeHTTP(rec, req)
				if rec.Code != http.StatusOK ||
					!bytes.HasPrefix(rec.Body.Bytes(), resultPrefix) {
					b.Fatalf("status %d: %s", rec.Code, rec.Body)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
		})
	}
}

// BenchmarkPublishHTTP is the same over a loopback connection, for scale:
// most of its time is net/http.
func BenchmarkPublishHTTP(b *testing.B) {
	e := newEnv(b)
	client := e.srv.Client()
	body := []byte(`{"channel":"news","data":{"text":"hello, world","n":42}}`)
	b.ReportAllocs()
	for b.Loop() {
		req, err := http.NewRequest(http.MethodPost, e.srv.URL+"/api/publish",
			bytes.NewReader(body))
		if err != nil {
			b.Fatal(err)
		}
		req.Header.Set("X-API-Key", testKey)
		resp, err := client.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		_ = resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			b.Fatalf("status %d", resp.StatusCode)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
}
