package enginetest

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"testing"

	"github.com/heraldhq/herald/internal/engine"
	"github.com/heraldhq/herald/internal/protocol"
)

// RunBroker runs the broker conformance subtests. newBroker must return a
// new broker that is not running yet; the suite runs it with its own
// handler and closes it when the subtest ends. Other resources (connections)
// are the factory's to release, with t.Cleanup.
//
// The suite subscribes to every channel whose deliveries it checks, and
// never expects that a broker drops deliveries of unsubscribed channels: the
// memory broker hands over everything. [RunSubscriptionFilter] checks that
// for brokers that filter.
func RunBroker(t *testing.T, newBroker func(t *testing.T) engine.Broker) {
	tests := []struct {
		name string
		run  func(*testing.T, brokerFactory)
	}{
		{"PublishWithHistory", testPublishWithHistory},
		{"PublishWithoutHistory", testPublishWithoutHistory},
		{"History", testHistory},
		{"HistoryPositionCreatesStableEpoch", testHistoryStableEpoch},
		{"HistorySizeChanges", testHistorySizeChanges},
		{"RemoveHistory", testRemoveHistory},
		{"Idempotency", testIdempotency},
		{"IdempotencyWithoutHistory", testIdempotencyWithoutHistory},
		{"JoinLeaveInOrder", testJoinLeave},
		{"Control", testControl},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { tt.run(t, newBroker) })
	}
}

// RunSubscriptionFilter checks that a broker delivers a channel's
// publications only while this node is subscribed to it. newBroker is as
// for [RunBroker].
func RunSubscriptionFilter(t *testing.T, newBroker func(t *testing.T) engine.Broker) {
	b, rec := startBroker(t, newBroker)
	ctx := context.Background()
	ch := channel("filter")

	subscribe(t, b, ch)
	publishN(t, b, ch, 1, withHistory(10))
	rec.waitFor(t, ch, 1)

	if err := b.Unsubscribe(ctx, ch); err != nil {
		t.Fatal(err)
	}
	publishN(t, b, ch, 1, withHistory(10)) // offset 2, must not arrive

	// Publications of one channel arrive in order: once offset 3 is in,
	// offset 2 would have been too.
	subscribe(t, b, ch)
	publishN(t, b, ch, 1, withHistory(10))
	evs := rec.waitFor(t, ch, 2)
	if got := pubOffsets(evs); !slices.Equal(got, []uint64{1, 3}) {
		t.Errorf("delivered offsets %v, want [1 3] (2 was published unsubscribed)", got)
	}
}

// brokerFactory is RunBroker's newBroker.
type brokerFactory = func(t *testing.T) engine.Broker

func testPublishWithHistory(t *testing.T, newBroker brokerFactory) {
	b, rec := startBroker(t, newBroker)
	ch := channel("ch")
	subscribe(t, b, ch)

	var epoch string
	for i := range 3 {
		pub := &protocol.Publication{Data: protocol.Raw(`{"i":` + strconv.Itoa(i) + `}`)}
		res, err := b.Publish(context.Background(), ch, pub, withHistory(10))
		if err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			epoch = res.Position.Epoch
		}
		want := protocol.StreamPosition{Offset: uint64(i + 1), Epoch: epoch}
		if res.Position != want || pub.Offset != want.Offset || res.Suppressed {
			t.Fatalf("publish %d: got %+v offset %d, want %+v", i, res, pub.Offset, want)
		}
	}
	if epoch == "" {
		t.Error("empty epoch")
	}

	evs := rec.waitFor(t, ch, 3)
	if len(evs) != 3 {
		t.Fatalf("got %d deliveries, want 3", len(evs))
	}
	for i, e := range evs {
		want := protocol.StreamPosition{Offset: uint64(i + 1), Epoch: epoch}
		data := `{"i":` + strconv.Itoa(i) + `}`
		if e.kind != "pub" || e.pos != want || e.pub.Offset != want.Offset ||
			string(e.pub.Data) != data {
			t.Errorf("delivery %d: %+v, want pub %s at %+v", i, e, data, want)
		}
	}
}

func testPublishWithoutHistory(t *testing.T, newBroker brokerFactory) {
	tests := []struct {
		name string
		opts engine.PublishOptions
	}{
		{"zero options", engine.PublishOptions{}},
		{"size only", engine.PublishOptions{HistorySize: 10}},
	}
	b, rec := startBroker(t, newBroker)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ch := channel("ch")
			subscribe(t, b, ch)
			pub := &protocol.Publication{Data: protocol.Raw(`1`)}
			res, err := b.Publish(context.Background(), ch, pub, tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			if res.Position.Offset != 0 || res.Suppressed || pub.Offset != 0 {
				t.Errorf("got %+v offset %d, want no offset", res, pub.Offset)
			}
			evs := rec.waitFor(t, ch, 1)
			if evs[0].kind != "pub" || string(evs[0].pub.Data) != "1" ||
				evs[0].pub.Offset != 0 {
				t.Errorf("delivery %+v, want the publication without offset", evs[0])
			}
			pubs, pos := history(t, b, ch, engine.HistoryOptions{Limit: -1})
			if len(pubs) != 0 || pos.Offset != 0 {
				t.Errorf("history %v at %+v, want nothing stored", offsets(pubs), pos)
			}
		})
	}
}

func testHistory(t *testing.T, newBroker brokerFactory) {
	b, _ := startBroker(t, newBroker)
	ch := channel("ch")
	last := publishN(t, b, ch, 10, withHistory(5)) // keeps 6..10
	epoch := last.Position.Epoch
	since := func(off uint64) *protocol.StreamPosition {
		return &protocol.StreamPosition{Offset: off, Epoch: epoch}
	}

	unrecoverable := engine.ErrUnrecoverablePosition
	tests := []struct {
		name string
		opts engine.HistoryOptions
		want []uint64
		err  error
	}{
		{"limit 0 gives position only", engine.HistoryOptions{}, nil, nil},
		{"all kept", engine.HistoryOptions{Limit: -1}, []uint64{6, 7, 8, 9, 10}, nil},
		{"limit takes oldest", engine.HistoryOptions{Limit: 2}, []uint64{6, 7}, nil},
		{"limit above kept", engine.HistoryOptions{Limit: 50},
			[]uint64{6, 7, 8, 9, 10}, nil},
		{"reverse all", engine.HistoryOptions{Limit: -1, Reverse: true},
			[]uint64{10, 9, 8, 7, 6}, nil},
		{"reverse limit takes newest", engine.HistoryOptions{Limit: 2, Reverse: true},
			[]uint64{10, 9}, nil},
		{"since", engine.HistoryOptions{Limit: -1, Since: since(7)},
			[]uint64{8, 9, 10}, nil},
		{"since with limit", engine.HistoryOptions{Limit: 2, Since: since(7)},
			[]uint64{8, 9}, nil},
		{"since oldest kept minus one", engine.HistoryOptions{Limit: -1, Since: since(5)},
			[]uint64{6, 7, 8, 9, 10}, nil},
		{"since reverse pages backwards", engine.HistoryOptions{Limit: -1,
			Since: since(9), Reverse: true}, []uint64{8, 7, 6}, nil},
		{"since reverse limit", engine.HistoryOptions{Limit: 2, Since: since(10),
			Reverse: true}, []uint64{9, 8}, nil},
		{"since top", engine.HistoryOptions{Limit: -1, Since: since(10)}, nil, nil},
		{"since trimmed by size", engine.HistoryOptions{Limit: -1, Since: since(4)},
			nil, unrecoverable},
		{"since trimmed limit 0", engine.HistoryOptions{Since: since(4)},
			nil, unrecoverable},
		{"since wrong epoch", engine.HistoryOptions{Limit: -1,
			Since: &protocol.StreamPosition{Offset: 8, Epoch: epoch + "x"}},
			nil, unrecoverable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pubs, pos, err := b.History(context.Background(), ch, tt.opts)
			if !errors.Is(err, tt.err) {
				t.Fatalf("err %v, want %v", err, tt.err)
			}
			if pos != last.Position {
				t.Errorf("position %+v, want %+v", pos, last.Position)
			}
			if got := offsets(pubs); !slices.Equal(got, tt.want) {
				t.Errorf("offsets %v, want %v", got, tt.want)
			}
		})
	}

	pubs, _ := history(t, b, ch, engine.HistoryOptions{Limit: 1, Since: since(6)})
	if len(pubs) != 1 || string(pubs[0].Data) != "7" {
		t.Errorf("publication 7 read back as %+v, want data 7", pubs)
	}
}

func testHistoryStableEpoch(t *testing.T, newBroker brokerFactory) {
	b, _ := startBroker(t, newBroker)
	ch := channel("fresh")
	pubs, pos := history(t, b, ch, engine.HistoryOptions{})
	if pubs != nil || pos.Offset != 0 || pos.Epoch == "" {
		t.Fatalf("got %v at %+v, want no publications, offset 0 and an epoch", pubs, pos)
	}
	if _, again := history(t, b, ch, engine.HistoryOptions{}); again != pos {
		t.Errorf("second read at %+v, want %+v", again, pos)
	}

	res := publishN(t, b, ch, 1, withHistory(10))
	want := protocol.StreamPosition{Offset: 1, Epoch: pos.Epoch}
	if res.Position != want {
		t.Errorf("first publish at %+v, want %+v", res.Position, want)
	}
	got, _ := history(t, b, ch, engine.HistoryOptions{Limit: -1, Since: &pos})
	if !slices.Equal(offsets(got), []uint64{1}) {
		t.Errorf("since the read position: %v, want [1]", offsets(got))
	}
}

func testHistorySizeChanges(t *testing.T, newBroker brokerFactory) {
	tests := []struct {
		name  string
		sizes []int // one publication per size, in order
		want  []uint64
	}{
		{"trim to size", []int{3, 3, 3, 3, 3}, []uint64{3, 4, 5}},
		{"size shrinks", []int{5, 5, 5, 5, 2}, []uint64{4, 5}},
		{"size grows", []int{2, 2, 2, 4, 4}, []uint64{2, 3, 4, 5}},
		{"size 1", []int{1, 1, 1}, []uint64{3}},
	}
	b, _ := startBroker(t, newBroker)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ch := channel("ch")
			for _, size := range tt.sizes {
				publishN(t, b, ch, 1, withHistory(size))
			}
			pubs, _ := history(t, b, ch, engine.HistoryOptions{Limit: -1})
			if got := offsets(pubs); !slices.Equal(got, tt.want) {
				t.Errorf("offsets %v, want %v", got, tt.want)
			}
		})
	}
}

func testRemoveHistory(t *testing.T, newBroker brokerFactory) {
	b, _ := startBroker(t, newBroker)
	ctx := context.Background()
	ch := channel("ch")
	last := publishN(t, b, ch, 3, withHistory(10))

	if err := b.RemoveHistory(ctx, ch); err != nil {
		t.Fatal(err)
	}
	if err := b.RemoveHistory(ctx, channel("never-used")); err != nil {
		t.Fatal(err)
	}
	pubs, pos := history(t, b, ch, engine.HistoryOptions{Limit: -1})
	if len(pubs) != 0 || pos != last.Position {
		t.Fatalf("got %v at %+v, want nothing at %+v", offsets(pubs), pos, last.Position)
	}

	top := last.Position
	_, _, err := b.History(ctx, ch, engine.HistoryOptions{Limit: -1, Since: &top})
	if err != nil {
		t.Errorf("since the top after removal: %v", err)
	}
	before := protocol.StreamPosition{Offset: 2, Epoch: top.Epoch}
	_, _, err = b.History(ctx, ch, engine.HistoryOptions{Limit: -1, Since: &before})
	if !errors.Is(err, engine.ErrUnrecoverablePosition) {
		t.Errorf("since a removed publication: err %v, want unrecoverable", err)
	}

	next := publishN(t, b, ch, 1, withHistory(10))
	want := protocol.StreamPosition{Offset: 4, Epoch: top.Epoch}
	if next.Position != want {
		t.Errorf("publish after removal at %+v, want %+v", next.Position, want)
	}
}

func testIdempotency(t *testing.T, newBroker brokerFactory) {
	b, rec := startBroker(t, newBroker)
	ctx := context.Background()
	ch, other := channel("ch"), channel("other")
	subscribe(t, b, ch)
	opts := withHistory(10)
	opts.IdempotencyKey = "k"

	first, err := b.Publish(ctx, ch, &protocol.Publication{Data: protocol.Raw(`1`)}, opts)
	if err != nil {
		t.Fatal(err)
	}
	publishN(t, b, ch, 1, withHistory(10)) // moves the top on

	again, err := b.Publish(ctx, ch, &protocol.Publication{Data: protocol.Raw(`1`)}, opts)
	if err != nil {
		t.Fatal(err)
	}
	if !again.Suppressed || again.Position != first.Position {
		t.Errorf("repeat: %+v, want %+v suppressed", again, first.Position)
	}
	if res := publishN(t, b, other, 1, opts); res.Suppressed {
		t.Error("the same key in another channel was suppressed")
	}

	// A last publication marks the end: in channel order, the repeat
	// would have arrived before it.
	publishN(t, b, ch, 1, withHistory(10))
	evs := rec.waitFor(t, ch, 3)
	if got := pubOffsets(evs); !slices.Equal(got, []uint64{1, 2, 3}) {
		t.Errorf("delivered offsets %v, want [1 2 3] (the repeat delivers nothing)", got)
	}
}

func testIdempotencyWithoutHistory(t *testing.T, newBroker brokerFactory) {
	b, rec := startBroker(t, newBroker)
	ch := channel("ch")
	subscribe(t, b, ch)
	opts := engine.PublishOptions{IdempotencyKey: "k"}
	publishN(t, b, ch, 1, opts)
	if res := publishN(t, b, ch, 1, opts); !res.Suppressed {
		t.Errorf("repeat: %+v, want suppressed", res)
	}

	marker := &protocol.Publication{Data: protocol.Raw(`"end"`)}
	_, err := b.Publish(context.Background(), ch, marker, engine.PublishOptions{})
	if err != nil {
		t.Fatal(err)
	}
	evs := rec.waitFor(t, ch, 2)
	if len(evs) != 2 || string(evs[1].pub.Data) != `"end"` {
		t.Errorf("deliveries %+v, want the first publication and the marker", evs)
	}
}

func testJoinLeave(t *testing.T, newBroker brokerFactory) {
	b, rec := startBroker(t, newBroker)
	ctx := context.Background()
	ch := channel("ch")
	subscribe(t, b, ch)
	info := &protocol.ClientInfo{User: "u", Client: "c",
		ConnInfo: protocol.Raw(`{"n":1}`), ChanInfo: protocol.Raw(`[2]`)}

	steps := []func() error{
		func() error { return b.PublishJoin(ctx, ch, info) },
		func() error {
			pub := &protocol.Publication{Data: protocol.Raw(`"x"`), Info: info}
			_, err := b.Publish(ctx, ch, pub, withHistory(1))
			return err
		},
		func() error { return b.PublishLeave(ctx, ch, info) },
	}
	for i, step := range steps {
		if err := step(); err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
	}

	evs := rec.waitFor(t, ch, 3)
	var kinds []string
	for _, e := range evs {
		kinds = append(kinds, e.kind)
	}
	if want := []string{"join", "pub", "leave"}; !slices.Equal(kinds, want) {
		t.Fatalf("deliveries %v, want %v", kinds, want)
	}
	if !sameInfo(evs[0].info, info) || !sameInfo(evs[2].info, info) ||
		!sameInfo(evs[1].pub.Info, info) {
		t.Errorf("client info not passed through: %+v %+v %+v",
			evs[0].info, evs[1].pub.Info, evs[2].info)
	}
}

func testControl(t *testing.T, newBroker brokerFactory) {
	b, rec := startBroker(t, newBroker)
	data := []byte("ctl-" + channel(""))
	if err := b.PublishControl(context.Background(), data); err != nil {
		t.Fatal(err)
	}

	// Control messages reach every node, this one included; other nodes
	// sharing the engine may add their own, so look for this one.
	poll(t, "the control message", func() bool {
		return slices.ContainsFunc(rec.of(""), func(e event) bool {
			return e.kind == "control" && string(e.data) == string(data)
		})
	})
}
