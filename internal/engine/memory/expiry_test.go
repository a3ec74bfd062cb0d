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

// These tests run in a synctest bubble: time.Sleep advances a fake clock at
// once, and synctest.Wait lets the janitor finish its sweep.

func TestHistoryTTL(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b, _ := newTestBroker(t, Config{})
		ctx := context.Background()
		opts := engine.PublishOptions{HistorySize: 10, HistoryTTL: 10 * time.Second}

		publishN(t, b, "ch", 3, opts)
		time.Sleep(5 * time.Second)
		last := publishN(t, b, "ch", 1, opts)
		epoch := last.Position.Epoch

		time.Sleep(5 * time.Second) // the first three expire now
		pubs, pos := history(t, b, "ch", engine.HistoryOptions{Limit: -1})
		if !slices.Equal(offsets(pubs), []uint64{4}) || pos != last.Position {
			t.Fatalf("after 10s: %v at %+v, want [4] at %+v", offsets(pubs), pos, last.Position)
		}
		at3 := &protocol.StreamPosition{Offset: 3, Epoch: epoch}
		got, _ := history(t, b, "ch", engine.HistoryOptions{Limit: -1, Since: at3})
		if len(got) != 1 {
			t.Errorf("since 3: %v, want [4]", offsets(got))
		}
		at2 := &protocol.StreamPosition{Offset: 2, Epoch: epoch}
		_, _, err := b.History(ctx, "ch", engine.HistoryOptions{Limit: -1, Since: at2})
		if !errors.Is(err, engine.ErrUnrecoverablePosition) {
			t.Errorf("since 2 after expiry: err %v, want unrecoverable", err)
		}

		time.Sleep(5 * time.Second) // all expired; the position stays
		pubs, pos = history(t, b, "ch", engine.HistoryOptions{Limit: -1})
		if len(pubs) != 0 || pos != last.Position {
			t.Fatalf("after 15s: %v at %+v, want nothing at %+v",
				offsets(pubs), pos, last.Position)
		}
		top := last.Position
		_, _, err = b.History(ctx, "ch", engine.HistoryOptions{Limit: -1, Since: &top})
		if err != nil {
			t.Errorf("since the top with nothing kept: %v", err)
		}
		next := publishN(t, b, "ch", 1, opts).Position
		if next != (protocol.StreamPosition{Offset: 5, Epoch: epoch}) {
			t.Errorf("next publish at %+v, want 5 in epoch %q", next, epoch)
		}
	})
}

func TestHistoryTTLShortened(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b, _ := newTestBroker(t, Config{})
		long := engine.PublishOptions{HistorySize: 10, HistoryTTL: time.Minute}
		short := engine.PublishOptions{HistorySize: 10, HistoryTTL: time.Second}
		publishN(t, b, "ch", 2, long)
		publishN(t, b, "ch", 1, short)

		// Older entries must not outlive the newer, shorter-lived one:
		// that would leave a hole in the middle of history.
		time.Sleep(time.Second)
		pubs, pos := history(t, b, "ch", engine.HistoryOptions{Limit: -1})
		if len(pubs) != 0 || pos.Offset != 3 {
			t.Errorf("got %v at %+v, want nothing at offset 3", offsets(pubs), pos)
		}
	})
}

func TestHistoryMetaTTL(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b, _ := newTestBroker(t, Config{CleanupInterval: time.Second})
		ctx := context.Background()
		opts := engine.PublishOptions{
			HistorySize: 10, HistoryTTL: 10 * time.Second, HistoryMetaTTL: time.Minute,
		}
		first := publishN(t, b, "ch", 2, opts)

		time.Sleep(59 * time.Second)
		synctest.Wait()
		if _, pos := history(t, b, "ch", engine.HistoryOptions{}); pos != first.Position {
			t.Fatalf("before meta TTL: %+v, want %+v", pos, first.Position)
		}

		time.Sleep(2 * time.Second)
		synctest.Wait()
		if n := b.streamCount(); n != 0 {
			t.Errorf("janitor left %d streams, want 0", n)
		}
		old := first.Position
		_, pos, err := b.History(ctx, "ch", engine.HistoryOptions{Limit: -1, Since: &old})
		if !errors.Is(err, engine.ErrUnrecoverablePosition) {
			t.Errorf("since a forgotten stream: err %v, want unrecoverable", err)
		}
		if pos.Offset != 0 || pos.Epoch == old.Epoch || pos.Epoch == "" {
			t.Errorf("recreated at %+v, want offset 0 in a new epoch", pos)
		}
		if res := publishN(t, b, "ch", 1, opts); res.Position != (protocol.StreamPosition{
			Offset: 1, Epoch: pos.Epoch}) {
			t.Errorf("publish after recreation at %+v, want 1 in %q", res.Position, pos.Epoch)
		}
	})
}

func TestHistoryMetaTTLLazy(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		// A long janitor interval: the read itself must notice expiry.
		b, _ := newTestBroker(t, Config{CleanupInterval: time.Hour})
		opts := engine.PublishOptions{
			HistorySize: 10, HistoryTTL: time.Second, HistoryMetaTTL: time.Minute,
		}
		first := publishN(t, b, "ch", 1, opts)
		time.Sleep(time.Minute)
		res := publishN(t, b, "ch", 1, opts)
		if res.Position.Offset != 1 || res.Position.Epoch == first.Position.Epoch {
			t.Errorf("after meta TTL: %+v, want offset 1 in a new epoch", res.Position)
		}
	})
}

func TestHistoryMetaTTLExtendedByPublishAndRead(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b, _ := newTestBroker(t, Config{})
		opts := engine.PublishOptions{
			HistorySize: 10, HistoryTTL: time.Second, HistoryMetaTTL: time.Minute,
		}
		epoch := publishN(t, b, "ch", 1, opts).Position.Epoch

		time.Sleep(50 * time.Second)
		publishN(t, b, "ch", 1, opts) // meta now lives until 110s
		time.Sleep(50 * time.Second)
		history(t, b, "ch", engine.HistoryOptions{MetaTTL: time.Minute}) // until 160s
		time.Sleep(50 * time.Second)

		if _, pos := history(t, b, "ch", engine.HistoryOptions{}); pos.Epoch != epoch ||
			pos.Offset != 2 {
			t.Errorf("at 150s: %+v, want offset 2 in %q", pos, epoch)
		}
	})
}

func TestHistoryMetaKeptForeverByDefault(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b, _ := newTestBroker(t, Config{CleanupInterval: time.Hour})
		opts := engine.PublishOptions{HistorySize: 10, HistoryTTL: time.Second}
		first := publishN(t, b, "ch", 1, opts)
		// A short reader TTL must not shorten a stream kept forever.
		history(t, b, "ch", engine.HistoryOptions{MetaTTL: time.Second})

		time.Sleep(30 * 24 * time.Hour)
		synctest.Wait()
		if _, pos := history(t, b, "ch", engine.HistoryOptions{}); pos != first.Position {
			t.Errorf("after 30 days: %+v, want %+v", pos, first.Position)
		}
	})
}

func TestHistoryReadCreatesMetaWithTTL(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b, _ := newTestBroker(t, Config{CleanupInterval: time.Second})
		history(t, b, "ch", engine.HistoryOptions{MetaTTL: time.Minute})
		time.Sleep(time.Minute + time.Second)
		synctest.Wait()
		if n := b.streamCount(); n != 0 {
			t.Errorf("%d streams after the reader's meta TTL, want 0", n)
		}
	})
}

func TestJanitorFreesExpiredHistory(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b, _ := newTestBroker(t, Config{CleanupInterval: time.Second})
		opts := engine.PublishOptions{HistorySize: 100, HistoryTTL: time.Second}
		publishN(t, b, "ch", 50, opts)
		publishN(t, b, "idem", 1, engine.PublishOptions{IdempotencyKey: "k"})

		time.Sleep(defaultIdempotentTTL + time.Second)
		synctest.Wait()
		st := b.stripe("ch")
		st.mu.Lock()
		s := st.streams["ch"]
		ringLen, n, top := len(s.ring), s.n, s.top
		st.mu.Unlock()
		if ringLen != 0 || n != 0 || top != 50 {
			t.Errorf("ring %d entries %d top %d, want 0, 0, 50", ringLen, n, top)
		}
		st = b.stripe("idem")
		st.mu.Lock()
		idem := len(st.idem)
		st.mu.Unlock()
		if idem != 0 {
			t.Errorf("%d idempotency results kept, want 0", idem)
		}
	})
}
