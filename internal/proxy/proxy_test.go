package proxy

import (
	"context"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/heraldhq/herald/internal/config"
)

func TestNew(t *testing.T) {
	tests := []struct {
		endpoint string
		wantErr  error // nil: any error when bad is set
		bad      bool
	}{
		{endpoint: "http://localhost:3000/centrifugo/connect"},
		{endpoint: "HTTPS://example.com"},
		{endpoint: "grpc://localhost:10000", wantErr: ErrGRPCNotSupported},
		{endpoint: "localhost:10000", wantErr: ErrGRPCNotSupported},
		{endpoint: "", bad: true},
		{endpoint: "http://", bad: true},
		{endpoint: "http://host:port:x/%zz", bad: true},
	}
	for _, tt := range tests {
		t.Run(tt.endpoint, func(t *testing.T) {
			p, err := New(config.Proxy{Endpoint: tt.endpoint}, nil)
			switch {
			case tt.wantErr != nil:
				if !errors.Is(err, tt.wantErr) {
					t.Errorf("err %v, want %v", err, tt.wantErr)
				}
			case tt.bad:
				if err == nil {
					t.Error("no error")
				}
			case err != nil:
				t.Errorf("err %v", err)
			default:
				if p.timeout != time.Second {
					t.Errorf("default timeout %v, want 1s", p.timeout)
				}
				p.Close()
			}
		})
	}
	if ErrGRPCNotSupported.Error() != "proxy: grpc proxies are not supported yet" {
		t.Errorf("message %q", ErrGRPCNotSupported)
	}
}

func TestTLS(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter,
		_ *http.Request) {
		_, _ = w.Write([]byte(`{"result":{"user":"tls"}}`))
	}))
	t.Cleanup(srv.Close)
	caPEM := string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE",
		Bytes: srv.Certificate().Raw}))
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(caFile, []byte(caPEM), 0o600); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name string
		tls  config.TLS
		ok   bool
	}{
		{"system roots refuse test CA", config.TLS{}, false},
		{"CA as PEM", config.TLS{Enabled: true, ServerCAPEM: caPEM}, true},
		{"CA as base64", config.TLS{Enabled: true,
			ServerCAPEM: base64.StdEncoding.EncodeToString([]byte(caPEM))}, true},
		{"CA as file", config.TLS{Enabled: true, ServerCAPEM: caFile}, true},
		{"insecure skip verify", config.TLS{Enabled: true, InsecureSkipVerify: true},
			true},
		{"disabled ignores CA", config.TLS{ServerCAPEM: caPEM}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newProxy(t, config.Proxy{Endpoint: srv.URL,
				HTTP: config.ProxyHTTP{TLS: tt.tls}})
			res, err := p.Connect(context.Background(), caller(), ConnectRequest{})
			if tt.ok {
				if err != nil || res.User != "tls" {
					t.Fatalf("res %+v, err %v", res, err)
				}
				return
			}
			if !errors.Is(err, ErrUnavailable) {
				t.Fatalf("err %v, want ErrUnavailable", err)
			}
		})
	}
}

func TestTLSConfigErrors(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "missing.pem")
	for name, tc := range map[string]config.TLS{
		"missing CA file": {Enabled: true, ServerCAPEM: missing},
		"CA not PEM":      {Enabled: true, ServerCAPEM: "-----BEGIN nothing"},
		"cert without key": {Enabled: true,
			CertPEM: "-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := New(config.Proxy{Endpoint: "https://example.com?key=secret",
				HTTP: config.ProxyHTTP{TLS: tc}}, nil)
			if err == nil {
				t.Fatal("no error")
			}
			if strings.Contains(err.Error(), "secret") {
				t.Errorf("error leaks the query: %v", err)
			}
		})
	}
}
