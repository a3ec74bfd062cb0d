package config

import (
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/pelletier/go-toml/v2"
	"gopkg.in/yaml.v3"
)

// generated is the file WriteGenerated writes, in the nested format.
// Field order is the order in the file.
type generated struct {
	Client  genClient  `json:"client" yaml:"client" toml:"client"`
	Admin   genAdmin   `json:"admin" yaml:"admin" toml:"admin"`
	HTTPAPI genHTTPAPI `json:"http_api" yaml:"http_api" toml:"http_api"`
}

type genClient struct {
	Token          genToken `json:"token" yaml:"token" toml:"token"`
	AllowedOrigins []string `json:"allowed_origins" yaml:"allowed_origins" toml:"allowed_origins"`
}

type genToken struct {
	HMACSecretKey string `json:"hmac_secret_key" yaml:"hmac_secret_key" toml:"hmac_secret_key"`
}

type genAdmin struct {
	Enabled  bool   `json:"enabled" yaml:"enabled" toml:"enabled"`
	Password string `json:"password" yaml:"password" toml:"password"`
	Secret   string `json:"secret" yaml:"secret" toml:"secret"`
}

type genHTTPAPI struct {
	Key string `json:"key" yaml:"key" toml:"key"`
}

// WriteGenerated writes a minimal configuration to path with fresh random
// secrets: the HMAC token key, the admin password and secret, and the API
// key. The format follows the extension (.json, .yaml, .yml, .toml). The
// file is created with mode 0600 and an existing file is never
// overwritten. allowed_origins is an empty list, to be filled in.
func WriteGenerated(path string) error {
	g := generated{Client: genClient{AllowedOrigins: []string{}}}
	for _, s := range []*string{&g.Client.Token.HMACSecretKey, &g.Admin.Password,
		&g.Admin.Secret, &g.HTTPAPI.Key} {
		*s = randomSecret()
	}
	data, err := encodeGenerated(path, g)
	if err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("config: %s already exists, not overwriting it", path)
	}
	if err != nil {
		return fmt.Errorf("config: %w", err)
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return fmt.Errorf("config: write %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("config: write %s: %w", path, err)
	}
	return nil
}

func encodeGenerated(path string, g generated) ([]byte, error) {
	switch ext := strings.ToLower(filepath.Ext(path)); ext {
	case ".json":
		data, err := json.MarshalIndent(g, "", "  ")
		return append(data, '\n'), err
	case ".yaml", ".yml":
		return yaml.Marshal(g)
	case ".toml":
		return toml.Marshal(g)
	default:
		return nil, fmt.Errorf("config: %s: unknown format %q (want .json, .yaml, .yml "+
			"or .toml)", path, ext)
	}
}

// randomSecret returns a random UUID (version 4) as text: 122 random bits,
// in the form the secrets of Centrifugo's genconfig had.
func randomSecret() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // never fails, see crypto/rand.Read
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}
