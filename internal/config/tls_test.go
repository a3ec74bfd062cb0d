package config

import (
	"strings"
	"testing"
)

// TestServerTLSErrors checks that a TLS listener config without a usable
// certificate and key fails with an error naming what is wrong.
func TestServerTLSErrors(t *testing.T) {
	if c, err := ServerTLS(TLS{}); c != nil || err != nil {
		t.Fatalf("disabled: %v, %v; want nil, nil", c, err)
	}
	tests := []struct {
		name string
		tc   TLS
		want string
	}{
		{"no key", TLS{Enabled: true, CertPEM: "cert.pem"}, "cert_pem and key_pem are required"},
		{"missing file", TLS{Enabled: true, CertPEM: "/nonexistent/c", KeyPEM: "/nonexistent/k"},
			"cert_pem"},
		{"not PEM", TLS{Enabled: true, CertPEM: "-----BEGIN x", KeyPEM: "-----BEGIN y"},
			"PEM"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ServerTLS(tt.tc)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want one mentioning %q", err, tt.want)
			}
		})
	}
}
