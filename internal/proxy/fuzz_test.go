package proxy

import (
	"encoding/json"
	"testing"
)

// FuzzDecodeConnectResponse feeds arbitrary backend answers to the connect
// decoder, and to the other event decoders, which share its building
// blocks. None may panic, and whatever a result holds must be safe to
// embed in a later request: meta is sent verbatim, so it must be valid
// JSON.
func FuzzDecodeConnectResponse(f *testing.F) {
	for _, s := range []string{
		`{}`,
		`{"result":{"user":"demo-user"}}`,
		`{"disconnect":{"code":1000,"reason":"unauthorized","reconnect":false}}`,
		`{"error":{"code":1001,"message":"m","temporary":true}}`,
		`{"result":{"user":"u","expire_at":"17","info":{"a":1},"b64data":"AQ==",
			"channels":["a"],"meta":{"m":[1,2]},"subs":{"c":{"expire_at":1,
			"b64info":"AA==","override":{"presence":{"value":true},"recover":false}}}}}`,
		`{"result":{"subs":{"c":{"override":{"join_leave":{"value":"x"}}}}}}`,
		`{"result":{"b64info":"!!"}}`,
		`{"result":{"expire_at":1e3}}`,
		`{"result":{"expired":true,"tags":{"a":"b"},"version":"1"}}`,
		`null`, `[]`, `{"result":null,"error":null,"disconnect":null}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		res, err := decodeConnect(body)
		if err == nil && res != nil && res.Meta != nil && !json.Valid(res.Meta) {
			t.Fatalf("meta is not valid JSON: %q", res.Meta)
		}
		if err != nil && res != nil {
			t.Fatalf("both a result and an error: %+v, %v", res, err)
		}
		if r, err := decodeRefresh(body); err == nil && r == nil {
			t.Fatal("refresh: no result and no error")
		}
		_, _ = decodeSubscribe(body)
		_, _ = decodePublish(body)
		_, _ = decodeRPC(body)
		_, _ = decodeSubRefresh(body)
	})
}
