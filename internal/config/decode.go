package config

import (
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/heraldhq/herald/internal/channel"
)

// rawString is a value given as text in the environment or on the command
// line. Unlike file values it carries no type, so the decoder parses it
// by the type of its destination: "1"/"true" for booleans, space-separated
// words for lists, JSON for lists of objects and for maps.
type rawString struct {
	s   string
	src string // what the user wrote: "env CENTRIFUGO_PORT", "flag --port"
}

// keyError is a configuration error about one key.
type keyError struct {
	key string
	msg string
}

// Error implements the error interface.
func (e *keyError) Error() string { return "config: " + e.key + ": " + e.msg }

// decoder writes a generic tree (maps, lists, scalars as read from a file)
// onto typed values, leaving absent keys untouched so that layers of
// configuration stack. Keys come from json tags; an embedded struct
// without a tag contributes its fields to the outer object.
type decoder struct {
	unknown     []string
	unsupported []string
	// origins maps a nested path to the flat key it was translated from,
	// so that messages name what the user wrote.
	origins map[string]string
}

var durationType = reflect.TypeFor[time.Duration]()

// unsupportedKeys are keys Herald accepts but does not implement, by the
// struct type they appear in; they produce a warning.
var unsupportedKeys = map[reflect.Type][]string{
	reflect.TypeFor[Config](): {"grpc_api", "uni_grpc", "webtransport", "swagger",
		"init", "opentelemetry", "graphite", "consumers", "map_broker", "controller",
		"shared_poll", "enable_unreleased_features"},
	reflect.TypeFor[HTTPServer]():       {"tls_autocert", "internal_tls", "http3", "h2c_external"},
	reflect.TypeFor[Client]():           {"connect_code_to_unidirectional_disconnect"},
	reflect.TypeFor[Stream]():           {"connect_code_to_http_response"},
	reflect.TypeFor[channel.Config]():   {"publication_data_format"},
	reflect.TypeFor[channelProxyView](): {"map_publish", "map_remove", "shared_poll_refresh"},
	reflect.TypeFor[Broker]():           {"postgres", "redisnats"},
	reflect.TypeFor[NATSBroker]():       {"raw_mode"},
	reflect.TypeFor[Redis]():            {"replica_client"},
	reflect.TypeFor[channel.Options](): {"subscription_type", "map", "shared_poll",
		"auto_cache_recover", "map_clients_presence_channel_prefix",
		"map_users_presence_channel_prefix", "proxy_cache_empty", "cache_empty_proxy_name"},
}

// ignoredKeys are accepted silently: they switch off things Herald never
// does (usage statistics).
var ignoredKeys = map[reflect.Type][]string{
	reflect.TypeFor[Config](): {"usage_stats"},
}

// itemDefaults initialise a fresh list element before its keys are
// decoded.
var itemDefaults = map[reflect.Type]func(v reflect.Value){
	reflect.TypeFor[NamedProxy](): func(v reflect.Value) {
		v.Addr().Interface().(*NamedProxy).Timeout = defaultProxyTimeout
	},
}

// decode writes src onto dst; path is the nested key of dst.
func (d *decoder) decode(path string, src any, dst reflect.Value) error {
	if src == nil {
		return nil // null in a file means "not set"
	}
	if dst.Type() == durationType {
		return d.decodeDuration(path, src, dst)
	}
	switch dst.Kind() {
	case reflect.Struct:
		return d.decodeStruct(path, src, dst)
	case reflect.Slice:
		return d.decodeSlice(path, src, dst)
	case reflect.Map:
		return d.decodeMap(path, src, dst)
	case reflect.String:
		return d.decodeString(path, src, dst)
	case reflect.Bool:
		return d.decodeBool(path, src, dst)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return d.decodeInt(path, src, dst)
	}
	return d.errorf(path, src, "unsupported destination %s", dst.Type())
}

// errorf builds a keyError naming the key as the user wrote it.
func (d *decoder) errorf(path string, src any, format string, args ...any) error {
	msg := fmt.Sprintf(format, args...)
	if src != nil {
		msg += ", got " + describe(src)
	}
	return &keyError{key: d.display(path, src), msg: msg}
}

// display returns the name of path as the user wrote it.
func (d *decoder) display(path string, src any) string {
	if rs, ok := src.(rawString); ok && rs.src != "" {
		return rs.src
	}
	best := ""
	for p := range d.origins {
		if len(p) > len(best) && (path == p || strings.HasPrefix(path, p+".") ||
			strings.HasPrefix(path, p+"[")) {
			best = p
		}
	}
	if best == "" {
		return path
	}
	return d.origins[best] + path[len(best):]
}

// describe formats a value for an error message.
func describe(v any) string {
	switch v := v.(type) {
	case string:
		return strconv.Quote(v)
	case rawString:
		return strconv.Quote(v.s)
	case map[string]any:
		return "an object"
	case []any:
		return "a list"
	case nil:
		return "null"
	}
	return fmt.Sprint(v)
}

func (d *decoder) decodeDuration(path string, src any, dst reflect.Value) error {
	var s string
	switch v := src.(type) {
	case string:
		s = v
	case rawString:
		s = v.s
	case int64:
		// A bare number has no unit; only zero is unambiguous. Flat keys
		// that count whole seconds were already turned into "Ns".
		if v == 0 {
			dst.SetInt(0)
			return nil
		}
		return d.errorf(path, src, `expected a duration like "25s"`)
	case float64:
		if v == 0 {
			dst.SetInt(0)
			return nil
		}
		return d.errorf(path, src, `expected a duration like "25s"`)
	default:
		return d.errorf(path, src, `expected a duration like "25s"`)
	}
	s = strings.TrimSpace(s)
	if s == "" {
		dst.SetInt(0)
		return nil
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return d.errorf(path, src, `expected a duration like "25s"`)
	}
	dst.SetInt(int64(v))
	return nil
}

func (d *decoder) decodeString(path string, src any, dst reflect.Value) error {
	switch v := src.(type) {
	case string:
		dst.SetString(v)
	case rawString:
		dst.SetString(v.s)
	case int64:
		// YAML and TOML read an unquoted 123456 as a number; a password or
		// a port given that way is still meant as text.
		dst.SetString(strconv.FormatInt(v, 10))
	default:
		return d.errorf(path, src, "expected a string")
	}
	return nil
}

func (d *decoder) decodeBool(path string, src any, dst reflect.Value) error {
	switch v := src.(type) {
	case bool:
		dst.SetBool(v)
		return nil
	case string, rawString:
		b, err := strconv.ParseBool(strings.TrimSpace(textOf(v)))
		if err == nil {
			dst.SetBool(b)
			return nil
		}
	}
	return d.errorf(path, src, "expected true or false")
}

func (d *decoder) decodeInt(path string, src any, dst reflect.Value) error {
	var n int64
	switch v := src.(type) {
	case int64:
		n = v
	case float64:
		if v != math.Trunc(v) || math.Abs(v) > 1<<53 {
			return d.errorf(path, src, "expected an integer")
		}
		n = int64(v)
	case string, rawString:
		// An empty string is zero: internal_port is "" by default in both
		// formats, meaning "the same as port".
		s := strings.TrimSpace(textOf(v))
		if s == "" {
			s = "0"
		}
		var err error
		n, err = strconv.ParseInt(s, 10, 64)
		if err != nil {
			return d.errorf(path, src, "expected an integer")
		}
	default:
		return d.errorf(path, src, "expected an integer")
	}
	if dst.CanInt() {
		if dst.OverflowInt(n) {
			return d.errorf(path, src, "integer out of range")
		}
		dst.SetInt(n)
		return nil
	}
	if n < 0 || dst.OverflowUint(uint64(n)) {
		return d.errorf(path, src, "expected a non-negative integer in range")
	}
	dst.SetUint(uint64(n))
	return nil
}

func textOf(v any) string {
	if rs, ok := v.(rawString); ok {
		return rs.s
	}
	s, _ := v.(string)
	return s
}

// parseRawJSON reads a JSON value from the environment or a flag.
func (d *decoder) parseRawJSON(path string, rs rawString, want string) (any, error) {
	v, err := parseJSON([]byte(rs.s))
	if err != nil {
		return nil, d.errorf(path, rs, "expected %s as JSON", want)
	}
	return v, nil
}

// decodeNested decodes a JSON value that came from the environment, so that
// errors inside it still name the variable.
func (d *decoder) decodeNested(path string, rs rawString, v any, dst reflect.Value) error {
	err := d.decode(path, v, dst)
	if ke, ok := err.(*keyError); ok {
		return &keyError{key: rs.src + ": " + ke.key, msg: ke.msg}
	}
	return err
}

func (d *decoder) decodeStruct(path string, src any, dst reflect.Value) error {
	if rs, ok := src.(rawString); ok {
		v, err := d.parseRawJSON(path, rs, "an object")
		if err != nil {
			return err
		}
		return d.decodeNested(path, rs, v, dst)
	}
	m, ok := src.(map[string]any)
	if !ok {
		return d.errorf(path, src, "expected an object")
	}
	fields := fieldsOf(dst.Type())
	for _, k := range slices.Sorted(maps.Keys(m)) {
		p := joinPath(path, k)
		idx, ok := fields[k]
		if !ok {
			switch {
			case hasKey(ignoredKeys, dst.Type(), k):
			case hasKey(unsupportedKeys, dst.Type(), k):
				d.unsupported = append(d.unsupported, d.display(p, m[k]))
			default:
				d.unknown = append(d.unknown, d.display(p, m[k]))
			}
			continue
		}
		if err := d.decode(p, m[k], dst.FieldByIndex(idx)); err != nil {
			return err
		}
	}
	return nil
}

func (d *decoder) decodeSlice(path string, src any, dst reflect.Value) error {
	var items []any
	switch v := src.(type) {
	case []any:
		items = v
	case string:
		items = wordsOf(v)
	case rawString:
		s := strings.TrimSpace(v.s)
		if strings.HasPrefix(s, "[") || dst.Type().Elem().Kind() == reflect.Struct {
			parsed, err := d.parseRawJSON(path, v, "a list")
			if err != nil {
				return err
			}
			return d.decodeNested(path, v, parsed, dst)
		}
		items = wordsOf(s)
	default:
		return d.errorf(path, src, "expected a list")
	}
	out := reflect.MakeSlice(dst.Type(), len(items), len(items))
	for i, item := range items {
		elem := out.Index(i)
		if init, ok := itemDefaults[elem.Type()]; ok {
			init(elem)
		}
		if item == nil {
			continue
		}
		p := fmt.Sprintf("%s[%d]", path, i)
		if elem.Kind() == reflect.String {
			if _, isNum := item.(float64); isNum {
				return d.errorf(p, item, "expected a string")
			}
		}
		if err := d.decode(p, item, elem); err != nil {
			return err
		}
	}
	dst.Set(out)
	return nil
}

// wordsOf splits a list given as one string on white space, as the
// environment form of lists does.
func wordsOf(s string) []any {
	words := strings.Fields(s)
	out := make([]any, len(words))
	for i, w := range words {
		out[i] = w
	}
	return out
}

func (d *decoder) decodeMap(path string, src any, dst reflect.Value) error {
	if rs, ok := src.(rawString); ok {
		v, err := d.parseRawJSON(path, rs, "an object")
		if err != nil {
			return err
		}
		return d.decodeNested(path, rs, v, dst)
	}
	m, ok := src.(map[string]any)
	if !ok {
		return d.errorf(path, src, "expected an object")
	}
	out := reflect.MakeMapWithSize(dst.Type(), len(m))
	for k, v := range m {
		val := reflect.New(dst.Type().Elem()).Elem()
		if err := d.decode(joinPath(path, k), v, val); err != nil {
			return err
		}
		out.SetMapIndex(reflect.ValueOf(k).Convert(dst.Type().Key()), val)
	}
	dst.Set(out)
	return nil
}

// fieldsOf maps the keys of a struct type to field index paths, flattening
// embedded structs that have no json tag.
func fieldsOf(t reflect.Type) map[string][]int {
	out := map[string][]int{}
	for i := range t.NumField() {
		f := t.Field(i)
		tag := strings.Split(f.Tag.Get("json"), ",")[0]
		if tag == "-" {
			continue
		}
		if f.Anonymous && tag == "" && f.Type.Kind() == reflect.Struct {
			for k, idx := range fieldsOf(f.Type) {
				out[k] = append([]int{i}, idx...)
			}
			continue
		}
		if !f.IsExported() || tag == "" {
			continue
		}
		out[tag] = []int{i}
	}
	return out
}

// hasKey reports whether key is listed for t or for a struct t embeds.
func hasKey(table map[reflect.Type][]string, t reflect.Type, key string) bool {
	if slices.Contains(table[t], key) {
		return true
	}
	for i := range t.NumField() {
		f := t.Field(i)
		if f.Anonymous && f.Type.Kind() == reflect.Struct && hasKey(table, f.Type, key) {
			return true
		}
	}
	return false
}

func joinPath(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// parseJSON decodes JSON into the generic tree form used for files.
func parseJSON(b []byte) (any, error) {
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	if dec.More() {
		return nil, fmt.Errorf("unexpected data after the JSON value")
	}
	return normalize(v), nil
}

// normalize brings a value read by any of the file parsers to one form:
// maps with lower-case string keys, []any lists, int64 or float64 numbers.
// Keys are lower-cased because key matching is case-insensitive.
func normalize(v any) any {
	switch v := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, x := range v {
			out[strings.ToLower(k)] = normalize(x)
		}
		return out
	case map[any]any:
		out := make(map[string]any, len(v))
		for k, x := range v {
			out[strings.ToLower(fmt.Sprint(k))] = normalize(x)
		}
		return out
	case []any:
		out := make([]any, len(v))
		for i, x := range v {
			out[i] = normalize(x)
		}
		return out
	case []map[string]any:
		out := make([]any, len(v))
		for i, x := range v {
			out[i] = normalize(x)
		}
		return out
	case json.Number:
		if n, err := v.Int64(); err == nil {
			return n
		}
		f, _ := v.Float64()
		return f
	case int:
		return int64(v)
	case int32:
		return int64(v)
	case uint64:
		if v > math.MaxInt64 {
			return float64(v)
		}
		return int64(v)
	case float32:
		return float64(v)
	case fmt.Stringer:
		// TOML dates and times: keep their text.
		return v.String()
	}
	return v
}
