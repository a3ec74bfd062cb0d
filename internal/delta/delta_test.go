package delta

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	fossil "github.com/shadowspore/fossil-delta"

	"github.com/heraldhq/herald/internal/protocol"
)

func TestPatchOnlyWhenSmaller(t *testing.T) {
	prev := []byte(`{"body":"` + strings.Repeat("x", 200) + `","n":1}`)
	next := []byte(`{"body":"` + strings.Repeat("x", 200) + `","n":2}`)
	p := Patch(prev, next)
	if p == nil || len(p) >= len(next) {
		t.Fatalf("patch of %d bytes for a %d-byte payload, want a smaller one",
			len(p), len(next))
	}
	got, err := fossil.Apply(prev, p)
	if err != nil || string(got) != string(next) {
		t.Fatalf("apply = %q, %v; want %q", got, err, next)
	}
	if p := Patch([]byte(`{"a":1}`), []byte(`[2]`)); p != nil {
		t.Errorf("patch %q for a 3-byte payload, want none", p)
	}
}

func TestChain(t *testing.T) {
	var pubs []*protocol.Publication
	for i := range 3 {
		data := fmt.Appendf(nil, `{"body":%q,"seq":%d}`, strings.Repeat("ab", 100), i)
		pubs = append(pubs, &protocol.Publication{Data: data, Offset: uint64(i + 1)})
	}
	for _, text := range []bool{false, true} {
		out := Chain(pubs, text)
		var prev []byte
		for i, p := range out {
			if p.Offset != pubs[i].Offset {
				t.Errorf("text=%v: offset %d, want %d", text, p.Offset, pubs[i].Offset)
			}
			if p.Delta != (i > 0) {
				t.Errorf("text=%v: publication %d delta %v", text, i, p.Delta)
			}
			data := []byte(p.Data)
			if text {
				var s string
				if err := json.Unmarshal(data, &s); err != nil {
					t.Fatalf("text data %s is not a JSON string: %v", data, err)
				}
				data = []byte(s)
			}
			if p.Delta {
				var err error
				if data, err = fossil.Apply(prev, data); err != nil {
					t.Fatalf("text=%v: publication %d: %v", text, i, err)
				}
			}
			if string(data) != string(pubs[i].Data) {
				t.Errorf("text=%v: publication %d = %s, want %s", text, i, data, pubs[i].Data)
			}
			prev = data
		}
	}
	if pubs[1].Delta || string(pubs[1].Data[:1]) != "{" {
		t.Error("Chain modified its input")
	}
}
