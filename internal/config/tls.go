package config

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"os"
	"strings"
)

// ClientTLS builds the settings of an outgoing TLS connection (a proxy
// endpoint, Redis) from tc. It returns nil when TLS is not enabled, so that
// callers keep their defaults.
func ClientTLS(tc TLS) (*tls.Config, error) {
	if !tc.Enabled {
		return nil, nil
	}
	cfg := &tls.Config{
		MinVersion:         tls.VersionTLS12,
		ServerName:         tc.ServerName,
		InsecureSkipVerify: tc.InsecureSkipVerify,
	}
	if tc.ServerCAPEM != "" {
		pem, err := LoadPEM(tc.ServerCAPEM)
		if err != nil {
			return nil, errors.New("server_ca_pem: " + err.Error())
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, errors.New("server_ca_pem: no certificate found")
		}
		cfg.RootCAs = pool
	}
	if tc.CertPEM != "" || tc.KeyPEM != "" {
		cert, err := loadKeyPair(tc.CertPEM, tc.KeyPEM)
		if err != nil {
			return nil, err
		}
		cfg.Certificates = []tls.Certificate{cert}
	}
	return cfg, nil
}

// ServerTLS builds the settings of Herald's own TLS listeners from tc: its
// certificate and key, and with client_ca_pem, client certificates that
// must verify against that CA. It returns nil when TLS is not enabled.
func ServerTLS(tc TLS) (*tls.Config, error) {
	if !tc.Enabled {
		return nil, nil
	}
	if tc.CertPEM == "" || tc.KeyPEM == "" {
		return nil, errors.New("cert_pem and key_pem are required")
	}
	cert, err := loadKeyPair(tc.CertPEM, tc.KeyPEM)
	if err != nil {
		return nil, err
	}
	cfg := &tls.Config{
		MinVersion:   tls.VersionTLS12,
		Certificates: []tls.Certificate{cert},
		// HTTP/1.1 only: WebSocket upgrades and the streams hijack or hold
		// HTTP/1.1 connections.
		NextProtos: []string{"http/1.1"},
	}
	if tc.ClientCAPEM != "" {
		pem, err := LoadPEM(tc.ClientCAPEM)
		if err != nil {
			return nil, errors.New("client_ca_pem: " + err.Error())
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, errors.New("client_ca_pem: no certificate found")
		}
		cfg.ClientCAs = pool
		cfg.ClientAuth = tls.RequireAndVerifyClientCert
	}
	return cfg, nil
}

// loadKeyPair loads the client certificate Herald presents to the server.
func loadKeyPair(certPEM, keyPEM string) (tls.Certificate, error) {
	c, err := LoadPEM(certPEM)
	if err != nil {
		return tls.Certificate{}, errors.New("cert_pem: " + err.Error())
	}
	k, err := LoadPEM(keyPEM)
	if err != nil {
		return tls.Certificate{}, errors.New("key_pem: " + err.Error())
	}
	return tls.X509KeyPair(c, k)
}

// LoadPEM accepts the three forms the configuration allows for a PEM
// setting: the PEM text itself, its base64 encoding, or a file path.
func LoadPEM(v string) ([]byte, error) {
	if v == "" {
		return nil, errors.New("empty")
	}
	if strings.Contains(v, "-----BEGIN") {
		return []byte(v), nil
	}
	if b, err := base64.StdEncoding.DecodeString(strings.TrimSpace(v)); err == nil &&
		strings.Contains(string(b), "-----BEGIN") {
		return b, nil
	}
	return os.ReadFile(v)
}
