package config

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"strings"
	"testing"
	"time"
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

// TestServerTLSClientCA checks that client_ca_pem makes the listener
// require client certificates signed by that CA.
func TestServerTLSClientCA(t *testing.T) {
	certPEM, keyPEM := testCertificate(t)
	c, err := ServerTLS(TLS{Enabled: true, CertPEM: certPEM, KeyPEM: keyPEM,
		ClientCAPEM: certPEM})
	if err != nil {
		t.Fatal(err)
	}
	if c.ClientAuth != tls.RequireAndVerifyClientCert || c.ClientCAs == nil {
		t.Fatalf("client auth %v, CAs %v; want client certificates required", c.ClientAuth,
			c.ClientCAs)
	}
	if len(c.Certificates) != 1 || c.MinVersion != tls.VersionTLS12 {
		t.Fatalf("certificates %d, min version %x", len(c.Certificates), c.MinVersion)
	}
	if _, err := ServerTLS(TLS{Enabled: true, CertPEM: certPEM, KeyPEM: keyPEM,
		ClientCAPEM: "-----BEGIN nothing"}); err == nil ||
		!strings.Contains(err.Error(), "client_ca_pem") {
		t.Fatalf("a bad client CA: %v", err)
	}
}

// testCertificate returns a self-signed certificate and its key as PEM.
func testCertificate(t *testing.T) (certPEM, keyPEM string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1),
		Subject:  pkix.Name{CommonName: "herald-test"},
		NotAfter: time.Now().Add(time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kb, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})),
		string(pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}))
}
