package api

import (
	"bytes"
	"math"
	"unicode/utf8"

	"github.com/heraldhq/herald/internal/auth"
	"github.com/heraldhq/herald/internal/protocol"
)

// request is the decoded parameters of one method. Decoded values never
// alias the request body, which is reused once the request is answered.
type request interface {
	// field decodes the value of key (lower-cased) into the request and
	// skips the values of keys it does not know.
	field(d *decoder, key []byte) error
}

// decodeRequest decodes the object at d into r; null leaves r empty, as
// encoding/json does.
func decodeRequest(d *decoder, r request) error {
	return d.object(func(key []byte) error { return r.field(d, key) })
}

// rawJSON decodes a value kept as raw JSON (data, info): its bytes, copied
// out of the body. They reach WebSocket text frames as they are, so they
// must be valid UTF-8.
func (d *decoder) rawJSON() ([]byte, error) {
	v, err := d.raw()
	if err != nil {
		return nil, err
	}
	if !utf8.Valid(v) {
		return nil, d.typeErr("raw value is not valid UTF-8")
	}
	return bytes.Clone(v), nil
}

// position decodes {"offset": u64, "epoch": "s"}; null is nil.
func (d *decoder) position() (*protocol.StreamPosition, error) {
	if d.null() {
		return nil, nil
	}
	sp := &protocol.StreamPosition{}
	err := d.object(func(key []byte) (err error) {
		switch string(key) {
		case "offset":
			sp.Offset, err = d.uint(math.MaxUint64)
		case "epoch":
			sp.Epoch, err = d.str()
		default:
			err = d.skip()
		}
		return err
	})
	return sp, err
}

// boolValue decodes an override flag: the protobuf wrapper {"value": b}
// that backends send, or a plain boolean. null is unset.
func (d *decoder) boolValue() (*bool, error) {
	if d.null() {
		return nil, nil
	}
	v := new(bool)
	if d.i < len(d.b) && d.b[d.i] != '{' {
		var err error
		*v, err = d.boolean()
		return v, err
	}
	err := d.object(func(key []byte) (err error) {
		if string(key) != "value" {
			return d.skip()
		}
		*v, err = d.boolean()
		return err
	})
	return v, err
}

// override decodes subscription option overrides under both their v3
// names (position, recover) and their v4+ names; the v4+ names win.
func (d *decoder) override() (*auth.Override, error) {
	var o auth.Override
	var position, recover *bool
	err := d.object(func(key []byte) (err error) {
		switch string(key) {
		case "presence":
			o.Presence, err = d.boolValue()
		case "join_leave":
			o.JoinLeave, err = d.boolValue()
		case "force_push_join_leave":
			o.ForcePushJoinLeave, err = d.boolValue()
		case "force_positioning":
			o.ForcePositioning, err = d.boolValue()
		case "force_recovery":
			o.ForceRecovery, err = d.boolValue()
		case "position":
			position, err = d.boolValue()
		case "recover":
			recover, err = d.boolValue()
		default:
			err = d.skip()
		}
		return err
	})
	if o.ForcePositioning == nil {
		o.ForcePositioning = position
	}
	if o.ForceRecovery == nil {
		o.ForceRecovery = recover
	}
	if err != nil || o == (auth.Override{}) {
		return nil, err
	}
	return &o, nil
}

// payload holds what publish and broadcast share.
type payload struct {
	data           []byte // raw JSON as sent; nil when absent
	b64data        string
	skipHistory    bool
	tags           map[string]string
	idempotencyKey string
	delta          bool
	version        uint64
	versionEpoch   string
}

// field decodes a payload key and reports whether it was one.
func (p *payload) field(d *decoder, key []byte) (ok bool, err error) {
	switch string(key) {
	case "data":
		p.data, err = d.rawJSON()
	case "b64data":
		p.b64data, err = d.str()
	case "skip_history":
		p.skipHistory, err = d.boolean()
	case "tags":
		p.tags, err = d.stringMap()
	case "idempotency_key":
		p.idempotencyKey, err = d.str()
	case "delta":
		p.delta, err = d.boolean()
	case "version":
		p.version, err = d.uint(math.MaxUint64)
	case "version_epoch":
		p.versionEpoch, err = d.str()
	default:
		return false, nil
	}
	return true, err
}

type publishRequest struct {
	channel string
	payload
}

func (r *publishRequest) field(d *decoder, key []byte) (err error) {
	if string(key) == "channel" {
		r.channel, err = d.str()
		return err
	}
	if ok, err := r.payload.field(d, key); ok {
		return err
	}
	return d.skip()
}

type broadcastRequest struct {
	channels []string
	payload
}

func (r *broadcastRequest) field(d *decoder, key []byte) (err error) {
	if string(key) == "channels" {
		r.channels, err = d.strings()
		return err
	}
	if ok, err := r.payload.field(d, key); ok {
		return err
	}
	return d.skip()
}

// target selects the connections of a user that a command applies to.
type target struct {
	user, client, session string
}

// field decodes a target key and reports whether it was one.
func (t *target) field(d *decoder, key []byte) (ok bool, err error) {
	switch string(key) {
	case "user":
		t.user, err = d.str()
	case "client":
		t.client, err = d.str()
	case "session":
		t.session, err = d.str()
	default:
		return false, nil
	}
	return true, err
}

type subscribeRequest struct {
	target
	channel          string
	info, data       []byte
	b64info, b64data string
	expireAt         int64
	recoverSince     *protocol.StreamPosition
	override         *auth.Override
}

func (r *subscribeRequest) field(d *decoder, key []byte) (err error) {
	if ok, err := r.target.field(d, key); ok {
		return err
	}
	switch string(key) {
	case "channel":
		r.channel, err = d.str()
	case "info":
		r.info, err = d.rawJSON()
	case "b64info":
		r.b64info, err = d.str()
	case "data":
		r.data, err = d.rawJSON()
	case "b64data":
		r.b64data, err = d.str()
	case "expire_at":
		r.expireAt, err = d.int(math.MaxInt64)
	case "recover_since":
		r.recoverSince, err = d.position()
	case "override":
		r.override, err = d.override()
	default:
		err = d.skip()
	}
	return err
}

type unsubscribeRequest struct {
	target
	channel string
}

func (r *unsubscribeRequest) field(d *decoder, key []byte) (err error) {
	if ok, err := r.target.field(d, key); ok {
		return err
	}
	if string(key) == "channel" {
		r.channel, err = d.str()
		return err
	}
	return d.skip()
}

// customDisconnect is the disconnect object of a disconnect command.
type customDisconnect struct {
	code      uint32
	reason    string
	reconnect *bool // v3 only; later versions derive it from the code
}

type disconnectRequest struct {
	target
	whitelist  []string
	disconnect *customDisconnect
}

func (r *disconnectRequest) field(d *decoder, key []byte) (err error) {
	if ok, err := r.target.field(d, key); ok {
		return err
	}
	switch string(key) {
	case "whitelist":
		r.whitelist, err = d.strings()
	case "disconnect":
		r.disconnect, err = d.customDisconnect()
	default:
		err = d.skip()
	}
	return err
}

func (d *decoder) customDisconnect() (*customDisconnect, error) {
	if d.null() {
		return nil, nil
	}
	c := &customDisconnect{}
	err := d.object(func(key []byte) (err error) {
		switch string(key) {
		case "code":
			var v uint64
			v, err = d.uint(math.MaxUint32)
			c.code = uint32(v)
		case "reason":
			c.reason, err = d.str()
		case "reconnect":
			var v bool
			v, err = d.boolean()
			c.reconnect = &v
		default:
			err = d.skip()
		}
		return err
	})
	return c, err
}

type refreshRequest struct {
	target
	expired  bool
	expireAt int64
	info     []byte
}

func (r *refreshRequest) field(d *decoder, key []byte) (err error) {
	if ok, err := r.target.field(d, key); ok {
		return err
	}
	switch string(key) {
	case "expired":
		r.expired, err = d.boolean()
	case "expire_at":
		r.expireAt, err = d.int(math.MaxInt64)
	case "info":
		r.info, err = d.rawJSON()
	default:
		err = d.skip()
	}
	return err
}

// channelRequest is the parameters of presence, presence_stats and
// history_remove.
type channelRequest struct {
	channel string
}

func (r *channelRequest) field(d *decoder, key []byte) (err error) {
	if string(key) == "channel" {
		r.channel, err = d.str()
		return err
	}
	return d.skip()
}

type historyRequest struct {
	channel string
	limit   int32
	since   *protocol.StreamPosition
	reverse bool
}

func (r *historyRequest) field(d *decoder, key []byte) (err error) {
	switch string(key) {
	case "channel":
		r.channel, err = d.str()
	case "limit":
		var v int64
		v, err = d.int(math.MaxInt32)
		r.limit = int32(v)
	case "since":
		r.since, err = d.position()
	case "reverse":
		r.reverse, err = d.boolean()
	default:
		err = d.skip()
	}
	return err
}

type channelsRequest struct {
	pattern string
}

func (r *channelsRequest) field(d *decoder, key []byte) (err error) {
	if string(key) == "pattern" {
		r.pattern, err = d.str()
		return err
	}
	return d.skip()
}

// infoRequest has no parameters; any object is accepted.
type infoRequest struct{}

func (*infoRequest) field(d *decoder, _ []byte) error { return d.skip() }

type rpcRequest struct {
	method string
	params []byte
}

func (r *rpcRequest) field(d *decoder, key []byte) (err error) {
	switch string(key) {
	case "method":
		r.method, err = d.str()
	case "params":
		r.params, err = d.rawJSON()
	default:
		err = d.skip()
	}
	return err
}
