package proxy

import (
	"crypto/tls"

	"github.com/heraldhq/herald/internal/config"
)

// clientTLS builds the TLS settings of an https proxy from http.tls. It
// returns nil when TLS is not enabled, which keeps Go's defaults (system
// roots) for https endpoints.
func clientTLS(tc config.TLS) (*tls.Config, error) {
	return config.ClientTLS(tc)
}
