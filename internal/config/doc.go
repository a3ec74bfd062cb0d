// Package config loads Herald's configuration.
//
// Herald reads the configuration files of Centrifugo unchanged, in both of
// their formats: the flat keys of v3-v5 (api_key, admin: true,
// proxy_connect_endpoint...) and the nested keys of v6 (http_api.key,
// admin.enabled, client.proxy.connect...). [Config] mirrors the nested
// tree; flat keys are translated to it (flat.go, options.go), and a file
// may mix both, the nested key winning.
//
// [Load] layers, from lowest to highest priority: [Default], the file
// (JSON, YAML or TOML by extension), environment variables with the
// HERALD_ or CENTRIFUGO_ prefix (env.go) and command-line flags registered
// by [RegisterFlags] (flags.go). Each layer is decoded onto the result of
// the previous ones (decode.go), so a layer changes only the keys it names.
// Unknown keys and keys of features Herald does not implement produce
// warnings, never errors; a value of the wrong type is an error naming the
// key as the user wrote it.
//
// Durations are Go duration strings ("25s", "720h"). A bare number is
// accepted only where it cannot be misread: zero anywhere, and whole
// seconds for the flat keys that v3 documented in seconds (history_ttl,
// history_meta_ttl, presence_ttl, including history_ttl and
// history_meta_ttl inside flat namespaces). Nested keys need a unit:
// Centrifugo v6 would read a bare 300 as 300 nanoseconds, which is never
// what was meant, so Herald reports it instead of guessing.
//
// Channel permissions are closed by default unless the file is a v3 file;
// see the comment on v3OnlyOptions in options.go.
package config
