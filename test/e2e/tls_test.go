package e2e

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/centrifugal/centrifuge-go"
)

// selfSigned writes a certificate for 127.0.0.1 and its key to dir and
// returns their paths and a client config that trusts the certificate.
func selfSigned(t *testing.T, dir string) (certPath, keyPath string, client *tls.Config) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "herald-e2e"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IsCA:         true, BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kb, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certPath, keyPath = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	if err := os.WriteFile(certPath, certPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb})
	if err := os.WriteFile(keyPath, keyPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(certPEM)
	return certPath, keyPath, &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
}

// TestTLS serves every endpoint over TLS from a certificate and key in the
// config: centrifuge-go connects with wss, the API and health answer over
// https, and plain HTTP on the port gets no service.
func TestTLS(t *testing.T) {
	certPath, keyPath, clientTLS := selfSigned(t, t.TempDir())
	srv := StartTLS(t, apiConfig(map[string]any{
		"name": "secure", "allow_subscribe_for_client": true,
	}).Set("http_server.tls", map[string]any{
		"enabled": true, "cert_pem": certPath, "key_pem": keyPath,
	}), clientTLS)

	forEachEncoding(t, func(t *testing.T, enc encoding) {
		ch := "secure:" + enc.name
		c, _ := connectUser(t, srv, enc, "alice", func(cfg *centrifuge.Config) {
			cfg.TLSConfig = clientTLS
		})
		sub := c.subscribe(t, ch)
		apiPublish(t, srv, ch, 1)
		if got := seqOf(t, pubsOf(sub.pubs.wait(t, 1, "publications"))); !slices.Equal(
			got, []int{1}) {
			t.Fatalf("publications %v, want [1]", got)
		}
	})

	resp, err := srv.HTTPClient().Get(srv.URL("/health"))
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /health over https: %v %v", resp, err)
	}
	_ = resp.Body.Close()
	plain := &http.Client{Timeout: 5 * time.Second}
	if resp, err := plain.Get("http://" + srv.Addr() + "/health"); err == nil {
		_ = resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			t.Fatal("plain HTTP was served on the TLS port")
		}
	}
}
