package memory

import (
	"context"
	"errors"
	"slices"
	"testing"
	"testing/synctest"
	"time"

	"github.com/heraldhq/herald/internal/engine"
	"github.com/heraldhq/herald/internal/protocol"
)

func TestPublishWithHistory(t *testing.T) {
	b, rec := newTestBroker(t, Config{})
	ctx := context.Background()

	var epoch string
	for i := range 3 {
		pub := &protocol.Publication{Data: protocol.Raw(`{}`)}
		res, err := b.Publish(ctx, "ch", pub, withHistory(10))
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
	if len(epoch) < 4 || len(epoch) > 8 {
		t.Errorf("epoch %q: want 4-8 characters", epoch)
	}

	evs := rec.snapshot()
	if len(evs) != 3 {
		t.Fatalf("got %d deliveries, want 3", len(evs))
	}
	for i, e := range evs {
		want := protocol.StreamPosition{Offset: uint64(i + 1), Epoch: epoch}
		if e.kind != "pub" || e.ch != "ch" || e.pos != want || e.pub.Offset != want.Offset {
			t.Errorf("delivery %d: %+v, want pub at %+v", i, e, want)
		}
	}
}

func TestPublishWithoutHistory(t *testing.T) {
	tests := []struct {
		name string
		opts engine.PublishOptions
	}{
		{"zero options", engine.PublishOptions{}},
		{"size only", engine.PublishOptions{HistorySize: 10}},
		{"ttl only", engine.PublishOptions{HistoryTTL: time.Minute}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, rec := newTestBroker(t, Config{})
			pub := &protocol.Publication{Data: protocol.Raw(`1`), Offset: 42}
			res, err := b.Publish(context.Background(), "ch", pub, tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			if res != (engine.PublishResult{}) || pub.Offset != 0 {
				t.Errorf("got %+v offset %d, want zero result and offset", res, pub.Offset)
			}
			evs := rec.snapshot()
			if len(evs) != 1 || evs[0].pub != pub || evs[0].pos != res.Position {
				t.Errorf("deliveries %+v, want the publication once", evs)
			}
			pubs, pos := history(t, b, "ch", engine.HistoryOptions{Limit: -1})
			if len(pubs) != 0 || pos.Offset != 0 {
				t.Errorf("history %v at %+v, want nothing stored", pubs, pos)
			}
		})
	}
}

func TestHistory(t *testing.T) {
	b, _ := newTestBroker(t, Config{})
	last := publishN(t, b, "ch", 10, withHistory(5)) // keeps 6..10
	epoch := last.Position.Epoch
	since := func(off uint64) *protocol.StreamPosition {
		return &protocol.StreamPosition{Offset: off, Epoch: epoch}
	}

	tests := []struct {
		name string
		opts engine.HistoryOptions
		want []uint64
		err  error
	}{
		{"limit 0 gives position only", engine.HistoryOptions{}, nil, nil},
		{"all kept", engine.HistoryOptions{Limit: -1}, []uint64{6, 7, 8, 9, 10}, nil},
		{"limit takes oldest", engine.HistoryOptions{Limit: 2}, []uint64{6, 7}, nil},
		{"limit above kept", engine.HistoryOptions{Limit: 50}, []uint64{6, 7, 8, 9, 10}, nil},
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
		// Reverse with a position pages backwards from it.
		{"since reverse", engine.HistoryOptions{Limit: -1, Since: since(9), Reverse: true},
			[]uint64{8, 7, 6}, nil},
		{"since reverse limit", engine.HistoryOptions{Limit: 2, Since: since(10), Reverse: true},
			[]uint64{9, 8}, nil},
		{"since reverse past top", engine.HistoryOptions{Limit: 1, Since: since(11),
			Reverse: true}, []uint64{10}, nil},
		{"since reverse at oldest", engine.HistoryOptions{Limit: -1, Since: since(6),
			Reverse: true}, nil, nil},
		{"since top", engine.HistoryOptions{Limit: -1, Since: since(10)}, nil, nil},
		{"since top limit 0", engine.HistoryOptions{Since: since(10)}, nil, nil},
		{"since trimmed by size", engine.HistoryOptions{Limit: -1, Since: since(4)},
			nil, engine.ErrUnrecoverablePosition},
		{"since trimmed limit 0", engine.HistoryOptions{Since: since(4)},
			nil, engine.ErrUnrecoverablePosition},
		{"since zero", engine.HistoryOptions{Limit: -1, Since: since(0)},
			nil, engine.ErrUnrecoverablePosition},
		{"since wrong epoch", engine.HistoryOptions{Limit: -1,
			Since: &protocol.StreamPosition{Offset: 8, Epoch: epoch + "x"}},
			nil, engine.ErrUnrecoverablePosition},
		{"since empty epoch", engine.HistoryOptions{Limit: -1,
			Since: &protocol.StreamPosition{Offset: 8}},
			nil, engine.ErrUnrecoverablePosition},
		{"since beyond top", engine.HistoryOptions{Limit: -1, Since: since(11)},
			nil, engine.ErrUnrecoverablePosition},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pubs, pos, err := b.History(context.Background(), "ch", tt.opts)
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
}

func TestHistoryPositionCreatesStableEpoch(t *testing.T) {
	b, _ := newTestBroker(t, Config{})
	pubs, pos := history(t, b, "fresh", engine.HistoryOptions{})
	if pubs != nil || pos.Offset != 0 || pos.Epoch == "" {
		t.Fatalf("got %v at %+v, want no publications, offset 0 and an epoch", pubs, pos)
	}
	if _, again := history(t, b, "fresh", engine.HistoryOptions{}); again != pos {
		t.Errorf("second read at %+v, want %+v", again, pos)
	}

	res := publishN(t, b, "fresh", 1, withHistory(10))
	want := protocol.StreamPosition{Offset: 1, Epoch: pos.Epoch}
	if res.Position != want {
		t.Errorf("first publish at %+v, want %+v", res.Position, want)
	}
	got, _ := history(t, b, "fresh", engine.HistoryOptions{Limit: -1, Since: &pos})
	if !slices.Equal(offsets(got), []uint64{1}) {
		t.Errorf("since the read position: %v, want [1]", offsets(got))
	}
}

func TestHistoryDoesNotAlias(t *testing.T) {
	b, _ := newTestBroker(t, Config{})
	publishN(t, b, "ch", 3, withHistory(4))

	// Writes and appends through a returned slice must not reach the ring.
	mine, _ := history(t, b, "ch", engine.HistoryOptions{Limit: 2})
	mine[0] = nil
	_ = append(mine, &protocol.Publication{Offset: 99})
	kept, _ := history(t, b, "ch", engine.HistoryOptions{Limit: -1})
	if got := offsets(kept); !slices.Equal(got, []uint64{1, 2, 3}) {
		t.Errorf("after caller writes: %v, want [1 2 3]", got)
	}

	// Later publishes, wrapping the ring, must not change a returned slice.
	publishN(t, b, "ch", 3, withHistory(4))
	if got := offsets(kept); !slices.Equal(got, []uint64{1, 2, 3}) {
		t.Errorf("after publishes: %v, want [1 2 3]", got)
	}
}

func TestHistorySizeChanges(t *testing.T) {
	tests := []struct {
		name  string
		sizes []int // one publication per size, in order
		want  []uint64
	}{
		{"trim to size", []int{3, 3, 3, 3, 3}, []uint64{3, 4, 5}},
		{"size shrinks", []int{5, 5, 5, 5, 2}, []uint64{4, 5}},
		{"size grows", []int{2, 2, 2, 4, 4}, []uint64{2, 3, 4, 5}},
		{"size 1", []int{1, 1, 1}, []uint64{3}},
		{"ring grows past first allocation", []int{9, 9, 9, 9, 9, 9, 9},
			[]uint64{1, 2, 3, 4, 5, 6, 7}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, _ := newTestBroker(t, Config{})
			for _, size := range tt.sizes {
				publishN(t, b, "ch", 1, withHistory(size))
			}
			pubs, _ := history(t, b, "ch", engine.HistoryOptions{Limit: -1})
			if got := offsets(pubs); !slices.Equal(got, tt.want) {
				t.Errorf("offsets %v, want %v", got, tt.want)
			}
		})
	}
}

func TestRemoveHistory(t *testing.T) {
	b, _ := newTestBroker(t, Config{})
	ctx := context.Background()
	last := publishN(t, b, "ch", 3, withHistory(10))

	if err := b.RemoveHistory(ctx, "ch"); err != nil {
		t.Fatal(err)
	}
	if err := b.RemoveHistory(ctx, "never-used"); err != nil {
		t.Fatal(err)
	}
	pubs, pos := history(t, b, "ch", engine.HistoryOptions{Limit: -1})
	if len(pubs) != 0 || pos != last.Position {
		t.Fatalf("got %v at %+v, want nothing at %+v", offsets(pubs), pos, last.Position)
	}
	top := last.Position
	_, _, err := b.History(ctx, "ch", engine.HistoryOptions{Limit: -1, Since: &top})
	if err != nil {
		t.Errorf("since the top after removal: %v", err)
	}
	before := protocol.StreamPosition{Offset: 2, Epoch: top.Epoch}
	_, _, err = b.History(ctx, "ch", engine.HistoryOptions{Limit: -1, Since: &before})
	if !errors.Is(err, engine.ErrUnrecoverablePosition) {
		t.Errorf("since a removed publication: err %v, want unrecoverable", err)
	}

	next := publishN(t, b, "ch", 1, withHistory(10))
	want := protocol.StreamPosition{Offset: 4, Epoch: top.Epoch}
	if next.Position != want {
		t.Errorf("publish after removal at %+v, want %+v", next.Position, want)
	}
}

func TestIdempotency(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b, rec := newTestBroker(t, Config{})
		ctx := context.Background()
		opts := withHistory(10)
		opts.IdempotencyKey = "k"

		first, err := b.Publish(ctx, "ch", &protocol.Publication{}, opts)
		if err != nil {
			t.Fatal(err)
		}
		publishN(t, b, "ch", 1, withHistory(10)) // moves the top on

		again, err := b.Publish(ctx, "ch", &protocol.Publication{}, opts)
		if err != nil {
			t.Fatal(err)
		}
		if !again.Suppressed || again.Position != first.Position {
			t.Errorf("repeat: %+v, want %+v suppressed", again, first.Position)
		}
		other, _ := b.Publish(ctx, "other", &protocol.Publication{}, opts)
		if other.Suppressed {
			t.Error("the same key in another channel was suppressed")
		}
		if n := len(rec.snapshot()); n != 3 {
			t.Errorf("%d deliveries, want 3 (the repeat delivers nothing)", n)
		}

		time.Sleep(defaultIdempotentTTL)
		late, _ := b.Publish(ctx, "ch", &protocol.Publication{}, opts)
		if late.Suppressed || late.Position.Offset != 3 {
			t.Errorf("after the default TTL: %+v, want a new publication at 3", late)
		}

		opts.IdempotentResultTTL = time.Second
		opts.IdempotencyKey = "short"
		publishN(t, b, "ch", 1, opts)
		time.Sleep(time.Second)
		if res := publishN(t, b, "ch", 1, opts); res.Suppressed {
			t.Error("a custom TTL was not applied")
		}
	})
}

func TestIdempotencyWithoutHistory(t *testing.T) {
	b, rec := newTestBroker(t, Config{})
	opts := engine.PublishOptions{IdempotencyKey: "k"}
	publishN(t, b, "ch", 1, opts)
	if res := publishN(t, b, "ch", 1, opts); !res.Suppressed {
		t.Errorf("repeat: %+v, want suppressed", res)
	}
	if n := len(rec.snapshot()); n != 1 {
		t.Errorf("%d deliveries, want 1", n)
	}
}

func TestJoinLeaveControl(t *testing.T) {
	b, rec := newTestBroker(t, Config{})
	ctx := context.Background()
	info := &protocol.ClientInfo{User: "u", Client: "c"}

	steps := []func() error{
		func() error { return b.PublishJoin(ctx, "ch", info) },
		func() error {
			_, err := b.Publish(ctx, "ch", &protocol.Publication{}, withHistory(1))
			return err
		},
		func() error { return b.PublishLeave(ctx, "ch", info) },
		func() error { return b.PublishControl(ctx, []byte("ctl")) },
	}
	for i, step := range steps {
		if err := step(); err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
	}

	var kinds []string
	for _, e := range rec.snapshot() {
		kinds = append(kinds, e.kind)
	}
	if want := []string{"join", "pub", "leave", "control"}; !slices.Equal(kinds, want) {
		t.Fatalf("deliveries %v, want %v", kinds, want)
	}
	evs := rec.snapshot()
	if evs[0].info != info || evs[2].info != info || string(evs[3].data) != "ctl" {
		t.Errorf("payloads not passed through: %+v", evs)
	}
}

func TestBrokerLifecycle(t *testing.T) {
	ctx := context.Background()
	b := NewBroker(Config{})
	publish := func() error {
		_, err := b.Publish(ctx, "ch", &protocol.Publication{}, withHistory(1))
		return err
	}
	if err := publish(); !errors.Is(err, ErrNotRunning) {
		t.Errorf("publish before Run: %v, want ErrNotRunning", err)
	}
	if err := b.PublishControl(ctx, nil); !errors.Is(err, ErrNotRunning) {
		t.Errorf("control before Run: %v, want ErrNotRunning", err)
	}
	if err := b.Run(ctx, nopHandler{}); err != nil {
		t.Fatal(err)
	}
	if err := b.Run(ctx, nopHandler{}); !errors.Is(err, ErrAlreadyRunning) {
		t.Errorf("second Run: %v, want ErrAlreadyRunning", err)
	}
	if err := b.Subscribe(ctx, "ch"); err != nil {
		t.Error(err)
	}
	if err := b.Unsubscribe(ctx, "ch"); err != nil {
		t.Error(err)
	}

	for range 2 {
		if err := b.Close(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if err := publish(); !errors.Is(err, ErrClosed) {
		t.Errorf("publish after Close: %v, want ErrClosed", err)
	}
	_, _, err := b.History(ctx, "ch", engine.HistoryOptions{})
	if !errors.Is(err, ErrClosed) {
		t.Errorf("history after Close: %v, want ErrClosed", err)
	}
	if err := b.Run(ctx, nopHandler{}); !errors.Is(err, ErrClosed) {
		t.Errorf("Run after Close: %v, want ErrClosed", err)
	}
}

func TestRunStopsWithContext(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		b := NewBroker(Config{})
		if err := b.Run(ctx, nopHandler{}); err != nil {
			t.Fatal(err)
		}
		// No Close: synctest.Test fails if the janitor outlives the
		// bubble, so this checks that cancelling Run's ctx stops it.
		cancel()
	})
}
