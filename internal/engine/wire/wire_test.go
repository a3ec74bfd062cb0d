package wire

import (
	"testing"

	"github.com/heraldhq/herald/internal/protocol"
)

// TestRoundTrip checks that what a node writes another reads back whole.
func TestRoundTrip(t *testing.T) {
	pub := &protocol.Publication{Data: protocol.Raw(`{"a":1}`),
		Info: &protocol.ClientInfo{User: "u", Client: "c", ConnInfo: protocol.Raw(`1`),
			ChanInfo: protocol.Raw(`2`)},
		Tags: map[string]string{"k": "v"}, Time: 42, Delta: true}
	got, err := DecodePublication(EncodePublication(pub))
	if err != nil {
		t.Fatal(err)
	}
	if string(got.Data) != string(pub.Data) || got.Time != 42 || !got.Delta ||
		got.Tags["k"] != "v" || got.Info == nil || got.Info.User != "u" ||
		got.Info.Client != "c" || string(got.Info.ConnInfo) != "1" ||
		string(got.Info.ChanInfo) != "2" {
		t.Errorf("round trip: %+v (info %+v)", got, got.Info)
	}

	sp, body, err := SplitPublication("7:ep:rest:with:colons")
	if err != nil || sp.Offset != 7 || sp.Epoch != "ep" || body != "rest:with:colons" {
		t.Errorf("split: %+v %q %v", sp, body, err)
	}
	for _, bad := range []string{"", "7", "x:ep:b", "7:ep"} {
		if _, _, err := SplitPublication(bad); err == nil {
			t.Errorf("split %q: no error", bad)
		}
	}
}

func FuzzDecodePublication(f *testing.F) {
	f.Add(EncodePublication(&protocol.Publication{Data: protocol.Raw("d"),
		Info: &protocol.ClientInfo{User: "u"}, Tags: map[string]string{"a": "b"},
		Time: 7, Delta: true}))
	f.Fuzz(func(t *testing.T, b []byte) {
		pub, err := DecodePublication(b)
		if err != nil {
			return
		}
		again, err := DecodePublication(EncodePublication(pub))
		if err != nil || string(again.Data) != string(pub.Data) || again.Time != pub.Time ||
			len(again.Tags) != len(pub.Tags) {
			t.Errorf("round trip of %+v: %+v, %v", pub, again, err)
		}
	})
}
