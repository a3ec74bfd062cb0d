package protocol

import "testing"

// v2SDKReconnects is how centrifuge-js 5 (transport onClose) and
// centrifuge-go (extractDisconnectWebsocket) read a close frame whose
// reason is not JSON: below 3000 the transport closed and they reconnect,
// except after 1009; 3500-3999 and 4500-4999 are terminal. centrifuge-js
// looks at the ranges only when the reason is not empty.
func v2SDKReconnects(code uint32, reason string) bool {
	switch {
	case code < 3000:
		return code != 1009
	case reason == "":
		return true
	default:
		return ShouldReconnect(code)
	}
}

func TestCloseV2(t *testing.T) {
	tests := []struct {
		name string
		d    *Disconnect
		want *Disconnect // nil: d itself
	}{
		{"tutorial proxy denial",
			&Disconnect{Code: 1000, Reason: "unauthorized"},
			&Disconnect{Code: 3503, Reason: "unauthorized"}},
		{"no reason", &Disconnect{Code: 2999},
			&Disconnect{Code: 3503, Reason: "force disconnect"}},
		{"zero code", &Disconnect{Reason: "go away"},
			&Disconnect{Code: 3503, Reason: "go away"}},
		{"transport code with reconnect advice",
			&Disconnect{Code: 1000, Reason: "later", Reconnect: true}, nil},
		{"terminal app code", &Disconnect{Code: 4500, Reason: "banned"}, nil},
		{"reconnecting app code",
			&Disconnect{Code: 4000, Reason: "retry", Reconnect: true}, nil},
		{"library code", DisconnectInvalidToken, nil},
		{"shutdown", DisconnectShutdown, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := *tt.d
			got := CloseV2(tt.d)
			if tt.want == nil {
				if got != tt.d {
					t.Fatalf("CloseV2(%+v) = %+v, want it unchanged", before, *got)
				}
				return
			}
			if *got != *tt.want {
				t.Errorf("CloseV2(%+v) = %+v, want %+v", before, *got, *tt.want)
			}
			if *tt.d != before {
				t.Errorf("CloseV2 changed its argument to %+v", *tt.d)
			}
		})
	}
	if CloseV2(nil) != nil {
		t.Error("CloseV2(nil) is not nil")
	}
}

// TestCloseV2Advice checks every code a backend may send: a v2 SDK never
// reconnects after a disconnect that advised against it when the code was
// below 3000, and what it does with any other code is left alone.
func TestCloseV2Advice(t *testing.T) {
	for code := uint32(0); code < 6000; code++ {
		for _, reconnect := range []bool{false, true} {
			d := &Disconnect{Code: code, Reason: "backend", Reconnect: reconnect}
			got := CloseV2(d)
			if code >= 3000 || reconnect {
				if got != d {
					t.Fatalf("%+v changed to %+v", *d, *got)
				}
				continue
			}
			if v2SDKReconnects(got.Code, got.Reason) {
				t.Fatalf("%+v became %+v, which v2 SDKs reconnect after", *d, *got)
			}
		}
	}
}
