package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/centrifugal/centrifuge-go"
)

// apiKey is the server API key of every test configuration here.
const apiKey = "my_api_key"

// apiConfig is v6Config with the server API key set.
func apiConfig(namespaces ...map[string]any) Config {
	return v6Config(namespaces...).Set("http_api.key", apiKey)
}

// apiAnswer is one HTTP answer of the server API.
type apiAnswer struct {
	status      int
	contentType string
	body        []byte
}

// postAPI POSTs body to path of srv; header holds name, value pairs.
func postAPI(t testing.TB, srv *Server, path, body string, header ...string) apiAnswer {
	t.Helper()
	req, err := http.NewRequestWithContext(opCtx(t), http.MethodPost, srv.URL(path),
		strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := srv.HTTPClient().Do(req)
	if err != nil {
		t.Fatalf("POST %s: %v", path, err)
	}
	defer func() { _ = resp.Body.Close() }()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("POST %s: read: %v", path, err)
	}
	return apiAnswer{resp.StatusCode, resp.Header.Get("Content-Type"), b}
}

// callAPI calls method through the per-method route with the key, expects
// a result and decodes it into res (when not nil).
func callAPI(t testing.TB, srv *Server, method, params string, res any) {
	t.Helper()
	a := postAPI(t, srv, "/api/"+method, params, "X-API-Key", apiKey)
	if a.status != http.StatusOK {
		t.Fatalf("%s %s: status %d: %s", method, params, a.status, a.body)
	}
	var reply struct {
		Result json.RawMessage
		Error  *struct {
			Code    uint32
			Message string
		}
	}
	if err := json.Unmarshal(a.body, &reply); err != nil {
		t.Fatalf("%s: answer %q: %v", method, a.body, err)
	}
	if reply.Error != nil || reply.Result == nil {
		t.Fatalf("%s %s: answer %s", method, params, a.body)
	}
	if res != nil {
		if err := json.Unmarshal(reply.Result, res); err != nil {
			t.Fatalf("%s: result %s: %v", method, reply.Result, err)
		}
	}
}

// TestAPITutorial runs the seed tutorial's request exactly: a v3 config
// with user_subscribe_to_personal, a client of user demo-user, and a
// legacy publish into its personal channel with "Authorization: apikey".
func TestAPITutorial(t *testing.T) {
	srv := Start(t, Config{
		"token_hmac_secret_key":      secret,
		"api_key":                    apiKey,
		"user_subscribe_to_personal": true,
	})
	forEachEncoding(t, func(t *testing.T, enc encoding) {
		c, _ := connectUser(t, srv, enc, "demo-user")
		sub := c.serverSubscribed.wait(t, 1, "server-side subscriptions")[0]
		if sub.Channel != "#demo-user" {
			t.Fatalf("server-side subscription to %q, want #demo-user", sub.Channel)
		}

		data := fmt.Sprintf(`{"time":%d}`, time.Now().Unix())
		a := postAPI(t, srv, "/api",
			`{"method":"publish","params":{"channel":"#demo-user","data":`+data+`}}`,
			"Authorization", "apikey "+apiKey)
		if a.status != http.StatusOK || string(a.body) != `{"result":{}}` ||
			a.contentType != "application/json" {
			t.Fatalf("publish: %d %s %q, want 200 application/json {\"result\":{}}",
				a.status, a.contentType, a.body)
		}
		pub := c.serverPubs.wait(t, 1, "publications")[0]
		if pub.Channel != "#demo-user" || string(pub.Data) != data {
			t.Fatalf("got %s in %q, want %s in #demo-user", pub.Data, pub.Channel, data)
		}
	})
}

// TestAPIPublishBroadcast checks that what publish and broadcast send
// reaches subscribers byte for byte, with tags, over both routes.
func TestAPIPublishBroadcast(t *testing.T) {
	srv := Start(t, apiConfig(map[string]any{
		"name":                       "chat",
		"allow_subscribe_for_client": true,
	}))
	forEachEncoding(t, func(t *testing.T, enc encoding) {
		room, other := "chat:room-"+enc.name, "chat:other-"+enc.name
		c, _ := connectUser(t, srv, enc, "alice")
		s1, s2 := c.subscribe(t, room), c.subscribe(t, other)

		data := `{ "text" : "héllo" ,"n":[1, 2] }`
		callAPI(t, srv, "publish", fmt.Sprintf(
			`{"channel":%q,"data":%s,"tags":{"k":"v"}}`, room, data), nil)
		a := postAPI(t, srv, "/api", fmt.Sprintf(
			`{"method":"broadcast","params":{"channels":[%q,%q],"data":{"n":2}}}`,
			room, other), "X-API-Key", apiKey)
		if a.status != http.StatusOK ||
			!bytes.HasPrefix(a.body, []byte(`{"result":{"responses":[`)) {
			t.Fatalf("broadcast: %d %s", a.status, a.body)
		}

		pubs := pubsOf(s1.pubs.wait(t, 2, room+" publications"))
		if string(pubs[0].Data) != data || pubs[0].Tags["k"] != "v" || pubs[0].Info != nil {
			t.Fatalf("publish delivered %q tags %v info %v, want %q tags k=v",
				pubs[0].Data, pubs[0].Tags, pubs[0].Info, data)
		}
		if string(pubs[1].Data) != `{"n":2}` {
			t.Fatalf("broadcast delivered %q", pubs[1].Data)
		}
		got := pubsOf(s2.pubs.wait(t, 1, other+" publications"))
		if string(got[0].Data) != `{"n":2}` {
			t.Fatalf("broadcast delivered %q to %s", got[0].Data, other)
		}
	})
}

// TestAPIServerSubscribe checks subscribe and unsubscribe of a user's
// connections as the client sees them: server-side subscription events,
// then publications, then the server-side unsubscription.
func TestAPIServerSubscribe(t *testing.T) {
	srv := Start(t, apiConfig(map[string]any{"name": "news"}))
	forEachEncoding(t, func(t *testing.T, enc encoding) {
		ch := "news:" + enc.name
		c := newClient(t, srv, enc, UserToken(t, secret, "alice", time.Hour))
		var unsubscribed eventLog[centrifuge.ServerUnsubscribedEvent]
		c.OnUnsubscribed(unsubscribed.add)
		c.mustConnect(t)
		other, _ := connectUser(t, srv, enc, "bob")

		callAPI(t, srv, "subscribe", fmt.Sprintf(
			`{"user":"alice","channel":%q,"data":{"welcome":1}}`, ch), nil)
		ev := c.serverSubscribed.wait(t, 1, "server-side subscriptions")[0]
		if ev.Channel != ch || string(ev.Data) != `{"welcome":1}` {
			t.Fatalf("subscribed event %+v (data %s), want %s with data", ev, ev.Data, ch)
		}

		callAPI(t, srv, "publish", fmt.Sprintf(`{"channel":%q,"data":{"n":1}}`, ch), nil)
		pub := c.serverPubs.wait(t, 1, "publications")[0]
		if pub.Channel != ch || string(pub.Data) != `{"n":1}` {
			t.Fatalf("publication %+v", pub)
		}

		var info struct {
			Channels map[string]struct {
				NumClients int `json:"num_clients"`
			}
		}
		callAPI(t, srv, "channels", fmt.Sprintf(`{"pattern":%q}`, ch), &info)
		if info.Channels[ch].NumClients != 1 {
			t.Fatalf("channels %+v, want 1 client in %s", info.Channels, ch)
		}

		callAPI(t, srv, "unsubscribe", fmt.Sprintf(`{"user":"alice","channel":%q}`, ch), nil)
		if ev := unsubscribed.wait(t, 1, "server-side unsubscriptions")[0]; ev.Channel != ch {
			t.Fatalf("unsubscribed from %q, want %q", ev.Channel, ch)
		}
		if other.serverSubscribed.len() != 0 {
			t.Fatalf("bob got subscriptions: %+v", other.serverSubscribed.all())
		}
	})
}

// TestAPIDisconnect checks that clients are closed with the requested code:
// the default 3503, a terminal custom code, and a reconnecting custom code.
func TestAPIDisconnect(t *testing.T) {
	srv := Start(t, apiConfig())
	forEachEncoding(t, func(t *testing.T, enc encoding) {
		t.Run("default", func(t *testing.T) {
			c, _ := connectUser(t, srv, enc, "bob")
			keep, keepID := connectUser(t, srv, enc, "bob")
			callAPI(t, srv, "disconnect", fmt.Sprintf(`{"user":"bob","whitelist":[%q]}`,
				keepID), nil)
			ev := c.disconnected.wait(t, 1, "disconnected events")[0]
			if ev.Code != 3503 || ev.Reason != "force disconnect" {
				t.Fatalf("disconnected %+v, want 3503 force disconnect", ev)
			}
			if keep.State() != centrifuge.StateConnected {
				t.Fatalf("whitelisted client is %s", keep.State())
			}
		})
		t.Run("custom terminal", func(t *testing.T) {
			c, _ := connectUser(t, srv, enc, "carol")
			callAPI(t, srv, "disconnect",
				`{"user":"carol","disconnect":{"code":4501,"reason":"banned"}}`, nil)
			ev := c.disconnected.wait(t, 1, "disconnected events")[0]
			if ev.Code != 4501 || ev.Reason != "banned" {
				t.Fatalf("disconnected %+v, want 4501 banned", ev)
			}
		})
		t.Run("custom reconnect", func(t *testing.T) {
			c, id := connectUser(t, srv, enc, "dave")
			a := postAPI(t, srv, "/api", fmt.Sprintf(`{"method":"disconnect","params":`+
				`{"user":"dave","client":%q,"disconnect":{"code":4001,"reason":"move"}}}`, id),
				"X-API-Key", apiKey)
			if a.status != http.StatusOK || string(a.body) != `{"result":{}}` {
				t.Fatalf("disconnect: %d %s", a.status, a.body)
			}
			moved := func(e centrifuge.ConnectingEvent) bool {
				return e.Code == 4001 && e.Reason == "move"
			}
			Eventually(t, WaitTimeout, func() bool {
				return slices.ContainsFunc(c.connecting.all(), moved)
			}, func() string {
				return fmt.Sprintf("connecting events %+v", c.connecting.all())
			})
			c.connected.wait(t, 2, "connected events after reconnect")
		})
	})
}

// TestAPIHistoryPresence checks that history and presence read through the
// API match what a subscribed client reads itself.
func TestAPIHistoryPresence(t *testing.T) {
	srv := Start(t, apiConfig(map[string]any{
		"name":                          "room",
		"presence":                      true,
		"history_size":                  10,
		"history_ttl":                   "300s",
		"allow_subscribe_for_client":    true,
		"allow_history_for_subscriber":  true,
		"allow_presence_for_subscriber": true,
	}))
	forEachEncoding(t, func(t *testing.T, enc encoding) {
		ch := "room:lobby-" + enc.name
		c, id := connectUser(t, srv, enc, "alice")
		sub := c.subscribe(t, ch)
		for i := 1; i <= 3; i++ {
			callAPI(t, srv, "publish", fmt.Sprintf(`{"channel":%q,"data":{"n":%d}}`, ch, i), nil)
		}
		sub.pubs.wait(t, 3, "publications")

		var hist struct {
			Publications []struct {
				Data   json.RawMessage
				Offset uint64
			}
			Epoch  string
			Offset uint64
		}
		callAPI(t, srv, "history", fmt.Sprintf(`{"channel":%q,"limit":-1}`, ch), &hist)
		mine, err := sub.History(opCtx(t), centrifuge.WithHistoryLimit(-1))
		if err != nil {
			t.Fatalf("client history: %v", err)
		}
		if hist.Offset != 3 || hist.Epoch != mine.Epoch || len(hist.Publications) != 3 ||
			len(mine.Publications) != 3 {
			t.Fatalf("API history %+v, client history %+v", hist, mine)
		}
		for i, p := range hist.Publications {
			if string(p.Data) != string(mine.Publications[i].Data) ||
				p.Offset != mine.Publications[i].Offset {
				t.Errorf("publication %d: API %s@%d, client %s@%d", i, p.Data, p.Offset,
					mine.Publications[i].Data, mine.Publications[i].Offset)
			}
		}

		var pres struct {
			Presence map[string]struct{ User, Client string }
		}
		var stats struct {
			NumClients int `json:"num_clients"`
			NumUsers   int `json:"num_users"`
		}
		callAPI(t, srv, "presence", fmt.Sprintf(`{"channel":%q}`, ch), &pres)
		callAPI(t, srv, "presence_stats", fmt.Sprintf(`{"channel":%q}`, ch), &stats)
		p, ok := pres.Presence[id]
		if len(pres.Presence) != 1 || !ok || p.User != "alice" || p.Client != id {
			t.Fatalf("presence %+v, want only %s of alice", pres.Presence, id)
		}
		if stats.NumClients != 1 || stats.NumUsers != 1 {
			t.Fatalf("presence stats %+v", stats)
		}
		mineP, err := sub.Presence(opCtx(t))
		if err != nil || len(mineP.Clients) != 1 || mineP.Clients[id].User != "alice" {
			t.Fatalf("client presence %+v, %v", mineP, err)
		}
	})
}

// TestAPIServing checks how the binary serves the API: auth, methods,
// paths, the configured prefix, transport error mode and disabling.
func TestAPIServing(t *testing.T) {
	t.Run("default", func(t *testing.T) {
		srv := Start(t, apiConfig())
		tests := []struct {
			name, method, path string
			header             []string
			want               int
		}{
			{"no key", http.MethodPost, "/api/info", nil, 401},
			{"wrong key", http.MethodPost, "/api/info", []string{"X-API-Key", "x"}, 401},
			{"query key", http.MethodPost, "/api/info?api_key=" + apiKey, nil, 200},
			{"GET", http.MethodGet, "/api", nil, 405},
			{"unknown method", http.MethodPost, "/api/nope", nil, 404},
			{"trailing slash", http.MethodPost, "/api/", nil, 404},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				req, err := http.NewRequestWithContext(opCtx(t), tt.method, srv.URL(tt.path),
					strings.NewReader(`{}`))
				if err != nil {
					t.Fatal(err)
				}
				for i := 0; i+1 < len(tt.header); i += 2 {
					req.Header.Set(tt.header[i], tt.header[i+1])
				}
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				_ = resp.Body.Close()
				if resp.StatusCode != tt.want {
					t.Fatalf("status %d, want %d", resp.StatusCode, tt.want)
				}
			})
		}
		var info struct {
			Nodes []struct {
				UID, Name, Version string
			}
		}
		callAPI(t, srv, "info", `{}`, &info)
		if len(info.Nodes) != 1 || info.Nodes[0].UID == "" || info.Nodes[0].Version == "" {
			t.Fatalf("info %+v", info)
		}
	})
	t.Run("prefix and transport errors", func(t *testing.T) {
		cfg := apiConfig().Set("http_api.handler_prefix", "/custom/").
			Set("http_api.error_mode", "transport")
		srv := Start(t, cfg)
		a := postAPI(t, srv, "/custom/publish", `{"channel":"x"}`, "X-API-Key", apiKey)
		if a.status != http.StatusBadRequest ||
			string(a.body) != `{"code":107,"message":"bad request: data required"}` {
			t.Fatalf("transport error: %d %s", a.status, a.body)
		}
		if a := postAPI(t, srv, "/api/info", `{}`, "X-API-Key", apiKey); a.status != 404 {
			t.Fatalf("default prefix still served: %d", a.status)
		}
	})
	t.Run("disabled", func(t *testing.T) {
		srv := Start(t, Config{"token_hmac_secret_key": secret, "api_key": apiKey,
			"api_disable": true})
		if a := postAPI(t, srv, "/api", `{"method":"info"}`, "X-API-Key", apiKey); a.status != 404 {
			t.Fatalf("disabled API answered %d", a.status)
		}
	})
	t.Run("insecure", func(t *testing.T) {
		srv := Start(t, Config{"token_hmac_secret_key": secret, "api_insecure": true})
		a := postAPI(t, srv, "/api", `{"method":"info"}`)
		if a.status != http.StatusOK || !bytes.HasPrefix(a.body, []byte(`{"result":{"nodes":[`)) {
			t.Fatalf("insecure API: %d %s", a.status, a.body)
		}
	})
}
