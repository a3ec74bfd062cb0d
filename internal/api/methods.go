package api

import (
	"context"
	"strconv"
	"time"

	"github.com/heraldhq/herald/internal/protocol"
)

// method is one server API method, served under its name by the
// per-method route and batch, and under its number by the legacy route.
type method struct {
	name  string
	enum  int64 // number in the legacy command protocol
	order int   // batch runs the first of several methods named in a command
	new   func() request
	run   func(h *Handler, ctx context.Context, r request) (result, *protocol.Error)
}

// def builds a method from a typed implementation.
func def[T any, P interface {
	*T
	request
}](name string, enum int64,
	run func(*Handler, context.Context, P) (result, *protocol.Error)) *method {
	return &method{
		name: name,
		enum: enum,
		new:  func() request { return P(new(T)) },
		run: func(h *Handler, ctx context.Context, r request) (result, *protocol.Error) {
			return run(h, ctx, r.(P))
		},
	}
}

// call runs m with req, recording its duration and error code.
func (h *Handler) call(ctx context.Context, m *method, req request) (result,
	*protocol.Error) {
	rec := h.recorders[m.order]
	if rec == nil {
		return m.run(h, ctx, req)
	}

	start := time.Now()
	res, e := m.run(h, ctx, req)
	var code uint32
	if e != nil {
		code = e.Code
	}
	rec.Done(time.Since(start), code)
	return res, e
}

// methods are the methods Herald serves, in the order batch prefers them
// when one command names several (the reference server's order).
var methods = []*method{
	def("publish", 0, (*Handler).publish),
	def("broadcast", 1, (*Handler).broadcast),
	def("subscribe", 11, (*Handler).subscribe),
	def("unsubscribe", 2, (*Handler).unsubscribe),
	def("disconnect", 3, (*Handler).disconnect),
	def("history", 6, (*Handler).history),
	def("history_remove", 7, (*Handler).historyRemove),
	def("presence", 4, (*Handler).presence),
	def("presence_stats", 5, (*Handler).presenceStats),
	def("info", 9, (*Handler).info),
	def("rpc", 10, (*Handler).rpc),
	def("refresh", 12, (*Handler).refresh),
	def("channels", 8, (*Handler).channels),
}

// methodsByName and methodsByEnum index methods.
var (
	methodsByName = map[string]*method{}
	methodsByEnum = map[int64]*method{}
)

func init() {
	for i, m := range methods {
		m.order = i
		methodsByName[m.name] = m
		methodsByEnum[m.enum] = m
	}
}

// legacyEnums maps the upper-case names of the legacy protocol's method
// enum to their numbers. It includes the methods Herald does not serve
// (PRO features, maps), which answer 104 rather than failing the request.
var legacyEnums = map[string]int64{
	"PUBLISH": 0, "BROADCAST": 1, "UNSUBSCRIBE": 2, "DISCONNECT": 3,
	"PRESENCE": 4, "PRESENCE_STATS": 5, "HISTORY": 6, "HISTORY_REMOVE": 7,
	"CHANNELS": 8, "INFO": 9, "RPC": 10, "SUBSCRIBE": 11, "REFRESH": 12,
	"CONNECTIONS": 14, "USER_CONNECTIONS": 14, "UPDATE_USER_STATUS": 15,
	"GET_USER_STATUS": 16, "DELETE_USER_STATUS": 17, "BLOCK_USER": 18,
	"UNBLOCK_USER": 19, "REVOKE_TOKEN": 20, "INVALIDATE_USER_TOKENS": 21,
	"DEVICE_REGISTER": 22, "DEVICE_UPDATE": 23, "DEVICE_REMOVE": 24,
	"DEVICE_LIST": 25, "DEVICE_TOPIC_LIST": 26, "DEVICE_TOPIC_UPDATE": 27,
	"USER_TOPIC_LIST": 28, "USER_TOPIC_UPDATE": 29, "SEND_PUSH_NOTIFICATION": 30,
	"UPDATE_PUSH_STATUS": 31, "CANCEL_PUSH": 32, "MAP_PUBLISH": 33,
	"MAP_REMOVE": 34, "MAP_READ_STATE": 35, "MAP_READ_STREAM": 36,
	"MAP_STATS": 37, "MAP_CLEAR": 38, "SHARED_POLL_PUBLISH": 39,
}

// rpc answers every method as unknown: Herald registers no server-side RPC
// extensions.
func (h *Handler) rpc(_ context.Context, r *rpcRequest) (result, *protocol.Error) {
	if r.method == "" {
		return nil, h.reject("rpc", errBadRequest, "method required")
	}
	return nil, h.reject("rpc", errNotFound, "no rpc extension "+quoteShort(r.method))
}

// maxQuoted bounds how much of a name from the request an error message
// repeats, so that a huge name does not make a huge answer or log line.
const maxQuoted = 64

// quoteShort quotes s for an error message, cut to maxQuoted bytes.
func quoteShort(s string) string {
	if len(s) > maxQuoted {
		return strconv.Quote(s[:maxQuoted]) + "..."
	}
	return strconv.Quote(s)
}
