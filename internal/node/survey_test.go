package node

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/heraldhq/herald/internal/config"
	"github.com/heraldhq/herald/internal/engine/redis"
	"github.com/heraldhq/herald/internal/hub"
	"github.com/heraldhq/herald/internal/protocol"
)

// redisNode starts a node named name on the local Redis, its broker under
// prefix, and stops it when the test ends. The nodes only use PUB/SUB
// channels under prefix, which leave no keys behind.
func redisNode(t *testing.T, name, prefix string) *Node {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	shards, err := redis.Connect(ctx, config.Redis{
		Address: []string{"127.0.0.1:6379"}, ConnectTimeout: time.Second})
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("connect to the local Redis: %v", err)
		}
		t.Skipf("no local Redis: %v", err)
	}
	t.Cleanup(shards.Close)

	b := redis.NewBroker(shards,
		redis.BrokerConfig{Prefix: prefix, Logger: discardLogger()})
	n := New(Config{Name: name, Version: "test", Broker: b,
		Hub: hub.New([]hub.Encoder{protocol.JSON}), Logger: discardLogger()})
	runCtx, stop := context.WithCancel(context.Background())
	if err := n.Run(runCtx); err != nil {
		stop()
		t.Fatalf("run node %s: %v", name, err)
	}
	t.Cleanup(func() {
		sctx, scancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer scancel()
		n.Stop(sctx)
		stop()
		_ = b.Close(sctx)
	})
	return n
}

// subscribe adds count subscribers of ch to n.
func subscribe(t *testing.T, n *Node, ch string, count int) {
	t.Helper()
	for range count {
		if err := n.AddSub(t.Context(), newSub(ch, &recConn{})); err != nil {
			t.Fatalf("subscribe %s on %s: %v", ch, n.Name(), err)
		}
	}
}

// waitPeers waits until n lists want other nodes.
func waitPeers(t *testing.T, n *Node, want int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for len(n.Peers()) != want {
		if time.Now().After(deadline) {
			t.Fatalf("%s lists peers %+v, want %d", n.Name(), n.Peers(), want)
		}
		time.Sleep(10 * time.Millisecond) // polling interval, not synchronisation
	}
}

// TestChannelsAcrossNodes checks that Channels on any of three nodes on
// one Redis sums the counts of all, filters by pattern whether or not the
// replying node knows the pattern syntax, and drops a node that left.
func TestChannelsAcrossNodes(t *testing.T) {
	prefix := "herald-node-test-" + rand.Text()
	a := redisNode(t, "a", prefix)
	b := redisNode(t, "b", prefix)
	c := redisNode(t, "c", prefix)
	nodes := []*Node{a, b, c}
	for _, n := range nodes {
		waitPeers(t, n, 2)
	}
	subscribe(t, a, "news", 2)
	subscribe(t, a, "chat:1", 1)
	subscribe(t, b, "news", 1)
	subscribe(t, b, "chat:2", 3)
	subscribe(t, c, "chat:1", 1)
	subscribe(t, c, "misc", 1)

	tests := []struct {
		pattern string
		want    map[string]int
	}{
		{"", map[string]int{"news": 3, "chat:1": 2, "chat:2": 3, "misc": 1}},
		{"chat:*", map[string]int{"chat:1": 2, "chat:2": 3}},
		{"nothing*", map[string]int{}},
	}
	for _, tt := range tests {
		for _, n := range nodes {
			got, err := n.Channels(t.Context(), tt.pattern)
			if err != nil {
				t.Fatalf("channels %q on %s: %v", tt.pattern, n.Name(), err)
			}
			if !maps.Equal(got, tt.want) {
				t.Errorf("channels %q on %s: %v, want %v", tt.pattern, n.Name(), got,
					tt.want)
			}
		}
	}

	if _, err := c.Channels(t.Context(), "chat:["); err == nil {
		t.Error("channels with a malformed pattern: no error")
	}

	// A node that stops says so, and is not waited for.
	c.Stop(t.Context())
	waitPeers(t, a, 1)
	got, err := a.Channels(t.Context(), "")
	want := map[string]int{"news": 3, "chat:1": 1, "chat:2": 3}
	if err != nil || !maps.Equal(got, want) {
		t.Errorf("channels after c left: %v, %v; want %v", got, err, want)
	}
}

// logRecorder keeps the warnings logged through it.
type logRecorder struct {
	mu    sync.Mutex
	warns []string
}

func (r *logRecorder) Enabled(_ context.Context, l slog.Level) bool {
	return l >= slog.LevelWarn
}

func (r *logRecorder) Handle(_ context.Context, rec slog.Record) error {
	var b strings.Builder
	b.WriteString(rec.Message)
	rec.Attrs(func(a slog.Attr) bool {
		fmt.Fprintf(&b, " %s=%v", a.Key, a.Value)
		return true
	})
	r.mu.Lock()
	defer r.mu.Unlock()
	r.warns = append(r.warns, b.String())
	return nil
}

func (r *logRecorder) WithAttrs([]slog.Attr) slog.Handler { return r }
func (r *logRecorder) WithGroup(string) slog.Handler      { return r }

func (r *logRecorder) take() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := r.warns
	r.warns = nil
	return out
}

// surveysSent returns the survey requests among the messages b recorded.
func surveysSent(b *controlBroker) []surveyRequest {
	var out []surveyRequest
	for _, c := range b.take() {
		if c.kind == kindSurvey {
			out = append(out, *c.Survey)
		}
	}
	return out
}

// channelsReply encodes from's answer to survey id of node to.
func channelsReply(from, to, id string, counts map[string]int) []byte {
	res, _ := json.Marshal(channelsAnswer{Channels: counts})
	return encodeSurveyReply(from, surveyReply{ID: id, To: to, Result: res})
}

// TestChannelsSurveyWait checks, on a fake clock, that a survey waits for
// every live node up to its timeout, returns what it has then and warns
// once about the nodes missing, and returns at once when all replied.
func TestChannelsSurveyWait(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := &controlBroker{}
		logs := &logRecorder{}
		n := New(Config{Name: "me", Broker: b, Hub: hub.New(nil),
			Logger: slog.New(logs)})
		if err := n.Run(t.Context()); err != nil {
			t.Fatal(err)
		}
		n.Hub().Add(newSub("news", &recConn{}))
		n.HandleControl(encodeAnnounce(Info{ID: "q1", Name: "quick"}))
		n.HandleControl(encodeAnnounce(Info{ID: "g1", Name: "ghost"}))

		type answer struct {
			counts map[string]int
			err    error
		}
		ask := func(ctx context.Context) <-chan answer {
			out := make(chan answer, 1)
			go func() {
				counts, err := n.Channels(ctx, "")
				out <- answer{counts, err}
			}()
			synctest.Wait()
			return out
		}

		res := ask(t.Context())
		sent := surveysSent(b)
		if len(sent) != 1 || sent[0].Op != opChannels {
			t.Fatalf("surveys sent %+v, want one channels survey", sent)
		}
		id := sent[0].ID
		n.HandleControl(channelsReply("q1", n.ID(), id,
			map[string]int{"news": 2, "chat": 1}))
		// Neither a node that was not asked, nor a reply to another
		// node, nor a second reply counts.
		n.HandleControl(channelsReply("stranger", n.ID(), id, map[string]int{"x": 1}))
		n.HandleControl(channelsReply("g1", "someone-else", id, map[string]int{"y": 1}))
		n.HandleControl(channelsReply("q1", n.ID(), id, map[string]int{"news": 5}))
		synctest.Wait()
		select {
		case got := <-res:
			t.Fatalf("answered %+v before ghost replied or the timeout", got)
		default:
		}

		start := time.Now()
		got := <-res
		want := map[string]int{"news": 3, "chat": 1}
		if got.err != nil || !maps.Equal(got.counts, want) {
			t.Fatalf("channels %v, %v; want %v", got.counts, got.err, want)
		}
		if waited := time.Since(start); waited > DefaultSurveyTimeout {
			t.Errorf("waited %v more, want at most the survey timeout", waited)
		}
		warns := logs.take()
		if len(warns) != 1 || !strings.Contains(warns[0], "ghost (g1)") ||
			strings.Contains(warns[0], "quick") {
			t.Errorf("warnings %q, want one naming ghost only", warns)
		}

		// A shorter ctx deadline ends the wait sooner, with what came in.
		ctx, cancel := context.WithTimeout(t.Context(), time.Second)
		defer cancel()
		res = ask(ctx)
		start = time.Now()
		got = <-res
		if got.err != nil || !maps.Equal(got.counts, map[string]int{"news": 1}) {
			t.Errorf("channels at the ctx deadline: %v, %v", got.counts, got.err)
		}
		if waited := time.Since(start); waited != time.Second {
			t.Errorf("waited %v, want the ctx deadline of 1s", waited)
		}
		logs.take()

		// A cancelled ctx is an error.
		ctx, cancel = context.WithCancel(t.Context())
		res = ask(ctx)
		cancel()
		if got := <-res; got.err == nil {
			t.Errorf("channels with a cancelled ctx: %v, want an error", got.counts)
		}

		// Once every live node replied, the answer comes without waiting.
		n.HandleControl(encodeLeave("g1"))
		b.take()
		res = ask(t.Context())
		sent = surveysSent(b)
		if len(sent) != 1 {
			t.Fatalf("surveys sent %+v, want one", sent)
		}
		n.HandleControl(channelsReply("q1", n.ID(), sent[0].ID,
			map[string]int{"chat": 4}))
		synctest.Wait()
		select {
		case got := <-res:
			want := map[string]int{"news": 1, "chat": 4}
			if got.err != nil || !maps.Equal(got.counts, want) {
				t.Errorf("channels %v, %v; want %v", got.counts, got.err, want)
			}
		default:
			t.Fatal("no answer once every node replied")
		}
		if warns := logs.take(); len(warns) != 0 {
			t.Errorf("warnings %q, want none", warns)
		}
		n.Stop(context.Background())
	})
}

// TestChannelsSurveyAlone checks that a node without peers answers from
// its hub without a survey, so it works before Run and on one node.
func TestChannelsSurveyAlone(t *testing.T) {
	b := &controlBroker{}
	n := New(Config{Broker: b, Hub: hub.New(nil), Logger: discardLogger()})
	n.Hub().Add(newSub("a", &recConn{}))
	n.Hub().Add(newSub("a", &recConn{}))
	n.Hub().Add(newSub("b", &recConn{}))
	got, err := n.Channels(t.Context(), "")
	if err != nil || !maps.Equal(got, map[string]int{"a": 2, "b": 1}) {
		t.Errorf("channels %v, %v", got, err)
	}
	if sent := b.take(); len(sent) != 0 {
		t.Errorf("sent %+v, want nothing", sent)
	}
}

// answerOf returns the reply n published to node to, failing unless there
// is exactly one.
func answerOf(t *testing.T, b *controlBroker, to string) surveyReply {
	t.Helper()
	var out []surveyReply
	for _, c := range b.take() {
		if c.kind == kindSurveyReply && c.Reply.To == to {
			out = append(out, *c.Reply)
		}
	}
	if len(out) != 1 {
		t.Fatalf("replies to %s: %+v, want one", to, out)
	}
	return out[0]
}

// TestSurveyAnswers checks what a node replies to the surveys of others:
// its channels filtered by the pattern when it knows the syntax, all of
// them when it does not, and an error for an op it does not know.
func TestSurveyAnswers(t *testing.T) {
	survey := func(id, op, params string) []byte {
		return encodeSurvey("asker", surveyRequest{ID: id, Op: op,
			Params: json.RawMessage(params)})
	}
	tests := []struct {
		name    string
		msg     []byte
		want    map[string]int
		wantErr string
	}{
		{"all", survey("1", opChannels, ""),
			map[string]int{"news": 2, "chat:1": 1, "chat:2": 1}, ""},
		{"pattern", survey("2", opChannels, `{"pattern":"chat:*"}`),
			map[string]int{"chat:1": 1, "chat:2": 1}, ""},
		{"pattern it cannot read", survey("3", opChannels, `{"pattern":"chat:["}`),
			map[string]int{"news": 2, "chat:1": 1, "chat:2": 1}, ""},
		{"bad params", survey("4", opChannels, `"chat"`), nil,
			"channels survey params"},
		{"unknown op", survey("5", "weather", ""), nil,
			`unknown survey op "weather"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				b := &controlBroker{}
				n := New(Config{Broker: b, Hub: hub.New(nil), Logger: discardLogger()})
				for _, ch := range []string{"news", "news", "chat:1", "chat:2"} {
					n.Hub().Add(newSub(ch, &recConn{}))
				}
				if err := n.Run(t.Context()); err != nil {
					t.Fatal(err)
				}

				n.HandleControl(tt.msg)
				synctest.Wait()
				rep := answerOf(t, b, "asker")
				if tt.wantErr != "" {
					if !strings.Contains(rep.Error, tt.wantErr) {
						t.Errorf("reply %+v, want error %q", rep, tt.wantErr)
					}
				} else {
					var a channelsAnswer
					err := json.Unmarshal(rep.Result, &a)
					if err != nil || rep.Error != "" {
						t.Fatalf("reply %+v: %v", rep, err)
					}
					if !maps.Equal(a.Channels, tt.want) || a.Omitted != 0 {
						t.Errorf("answer %+v, want %v", a, tt.want)
					}
				}
				n.Stop(context.Background())
			})
		})
	}
}

// TestSurveyAnswerCap checks that a reply carries about maxReplyBytes of
// channels at most and counts the rest.
func TestSurveyAnswerCap(t *testing.T) {
	n := New(Config{Broker: &controlBroker{}, Hub: hub.New(nil), Logger: discardLogger()})
	const total = 5000
	long := strings.Repeat("x", 250)
	for i := range total {
		n.Hub().Add(newSub(fmt.Sprintf("%s-%d", long, i), &recConn{}))
	}

	res, err := n.answerChannels(nil)
	if err != nil {
		t.Fatal(err)
	}
	var a channelsAnswer
	if err := json.Unmarshal(res, &a); err != nil {
		t.Fatal(err)
	}
	if a.Omitted == 0 || len(a.Channels)+a.Omitted != total {
		t.Errorf("%d channels and %d omitted, want %d in all with some omitted",
			len(a.Channels), a.Omitted, total)
	}
	if len(res) > maxReplyBytes {
		t.Errorf("reply of %d bytes, want at most %d", len(res), maxReplyBytes)
	}
}

// TestSurveyQueueBound checks that requests waiting for an answer are
// bounded, and the ones past the bound dropped with a warning.
func TestSurveyQueueBound(t *testing.T) {
	logs := &logRecorder{}
	// Not running: nothing answers, so the queue only grows.
	n := New(Config{Broker: &controlBroker{}, Hub: hub.New(nil), Logger: slog.New(logs)})
	for i := range maxQueuedSurveys + 3 {
		n.HandleControl(encodeSurvey("asker",
			surveyRequest{ID: fmt.Sprint(i), Op: opChannels}))
	}
	if got := len(n.cl.sv.take()); got != maxQueuedSurveys {
		t.Errorf("%d requests queued, want %d", got, maxQueuedSurveys)
	}
	if warns := logs.take(); len(warns) != 3 {
		t.Errorf("warnings %q, want 3", warns)
	}
}
