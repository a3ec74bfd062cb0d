package proxy

import (
	"encoding/base64"
	"encoding/json"

	"github.com/heraldhq/herald/internal/jsonwire"
)

// The request encoders below write fields in the order of the contract's
// message definitions (spec §4) and omit optional fields that are empty,
// as backends written for Centrifugo see them. Raw JSON payloads (data,
// meta) are appended verbatim, never re-encoded, so numbers and key order
// reach the backend exactly as the client or token produced them.

// appendCommon opens the object with the fields every event carries.
func (p *Proxy) appendCommon(b []byte, c *Caller) []byte {
	b = append(b, `{"client":`...)
	b = appendString(b, c.Client)
	b = append(b, `,"transport":`...)
	b = appendString(b, c.Transport)
	b = append(b, `,"protocol":`...)
	b = appendString(b, c.Protocol)
	if p.binary {
		return append(b, `,"encoding":"binary"`...)
	}
	return append(b, `,"encoding":"json"`...)
}

// appendUser appends the user ID, which every event but connect carries
// even when empty, so that backends can tell anonymous users apart from a
// missing field.
func appendUser(b []byte, c *Caller) []byte {
	b = append(b, `,"user":`...)
	return appendString(b, c.User)
}

// appendMeta appends the connection meta when include_connection_meta is
// on. Meta is valid JSON by construction: it comes from a verified token
// or a decoded connect or refresh result.
func (p *Proxy) appendMeta(b []byte, c *Caller) []byte {
	if !p.withMeta || len(c.Meta) == 0 {
		return b
	}
	b = append(b, `,"meta":`...)
	return append(b, c.Meta...)
}

// appendData appends a client payload as raw JSON, or as standard padded
// base64 in binary mode. In JSON mode a payload that is not JSON cannot be
// embedded without corrupting the body, so the call fails before anything
// is sent.
func (p *Proxy) appendData(b, data []byte) ([]byte, error) {
	if len(data) == 0 {
		return b, nil
	}
	if p.binary {
		b = append(b, `,"b64data":"`...)
		b = base64.StdEncoding.AppendEncode(b, data)
		return append(b, '"'), nil
	}
	if !json.Valid(data) {
		return b, ErrDataNotJSON
	}
	b = append(b, `,"data":`...)
	return append(b, data...), nil
}

// appendOptString appends ,"key":"v" unless v is empty.
func appendOptString(b []byte, key, v string) []byte {
	if v == "" {
		return b
	}
	b = append(b, ',', '"')
	b = append(b, key...)
	b = append(b, '"', ':')
	return appendString(b, v)
}

func appendStrings(b []byte, key string, vs []string) []byte {
	if len(vs) == 0 {
		return b
	}
	b = append(b, ',', '"')
	b = append(b, key...)
	b = append(b, `":[`...)
	for i, v := range vs {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, v)
	}
	return append(b, ']')
}

// newBody returns a buffer sized for the common fields plus extra bytes.
func newBody(c *Caller, extra int) []byte {
	n := 96 + len(c.Client) + len(c.Transport) + len(c.User) + len(c.Meta) + extra
	return make([]byte, 0, n)
}

func (p *Proxy) encodeConnect(c *Caller, r *ConnectRequest) ([]byte, error) {
	b := p.appendCommon(newBody(c, 64+len(r.Data)*4/3+16*len(r.Channels)), c)
	b, err := p.appendData(b, r.Data)
	if err != nil {
		return nil, err
	}
	b = appendOptString(b, "name", r.Name)
	b = appendOptString(b, "version", r.Version)
	b = appendStrings(b, "channels", r.Channels)
	return append(b, '}'), nil
}

func (p *Proxy) encodeRefresh(c *Caller) []byte {
	b := appendUser(p.appendCommon(newBody(c, 0), c), c)
	b = p.appendMeta(b, c)
	return append(b, '}')
}

func (p *Proxy) encodeSubscribe(c *Caller, r *SubscribeRequest) ([]byte, error) {
	n := len(r.Channel) + len(r.Token) + len(r.Data)*4/3
	b := appendUser(p.appendCommon(newBody(c, n), c), c)
	b = appendOptString(b, "channel", r.Channel)
	b = appendOptString(b, "token", r.Token)
	b = p.appendMeta(b, c)
	b, err := p.appendData(b, r.Data)
	if err != nil {
		return nil, err
	}
	return append(b, '}'), nil
}

func (p *Proxy) encodePublish(c *Caller, r *PublishRequest) ([]byte, error) {
	n := len(r.Channel) + len(r.Data)*4/3
	b := appendUser(p.appendCommon(newBody(c, n), c), c)
	b = appendOptString(b, "channel", r.Channel)
	b, err := p.appendData(b, r.Data)
	if err != nil {
		return nil, err
	}
	b = p.appendMeta(b, c)
	return append(b, '}'), nil
}

func (p *Proxy) encodeRPC(c *Caller, r *RPCRequest) ([]byte, error) {
	n := len(r.Method) + len(r.Data)*4/3
	b := appendUser(p.appendCommon(newBody(c, n), c), c)
	b = appendOptString(b, "method", r.Method)
	b, err := p.appendData(b, r.Data)
	if err != nil {
		return nil, err
	}
	b = p.appendMeta(b, c)
	return append(b, '}'), nil
}

func (p *Proxy) encodeSubRefresh(c *Caller, r *SubRefreshRequest) []byte {
	b := appendUser(p.appendCommon(newBody(c, len(r.Channel)), c), c)
	b = appendOptString(b, "channel", r.Channel)
	b = p.appendMeta(b, c)
	return append(b, '}')
}

// appendString appends s as a quoted JSON string. Invalid UTF-8 becomes
// U+FFFD, as encoding/json does, so that the body always parses.
func appendString(b []byte, s string) []byte {
	return jsonwire.AppendString(b, s, 0)
}
