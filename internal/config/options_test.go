package config

import (
	"strings"
	"testing"
	"time"

	"github.com/heraldhq/herald/internal/channel"
)

// perms summarises the permission flags of a set of options.
func perms(o *channel.Options) string {
	var s []string
	for _, f := range []struct {
		on   bool
		name string
	}{
		{o.AllowSubscribeForClient, "sub"}, {o.AllowSubscribeForAnonymous, "sub-anon"},
		{o.AllowPublishForClient, "pub"}, {o.AllowPublishForSubscriber, "pub-sub"},
		{o.AllowPublishForAnonymous, "pub-anon"}, {o.AllowPresenceForClient, "pres"},
		{o.AllowPresenceForSubscriber, "pres-sub"}, {o.AllowPresenceForAnonymous, "pres-anon"},
		{o.AllowHistoryForClient, "hist"}, {o.AllowHistoryForSubscriber, "hist-sub"},
		{o.AllowHistoryForAnonymous, "hist-anon"}, {o.AllowUserLimitedChannels, "user"},
		{o.ForcePositioning, "force-pos"}, {o.ForceRecovery, "force-rec"},
		{o.ForcePushJoinLeave, "force-jl"},
	} {
		if f.on {
			s = append(s, f.name)
		}
	}
	return strings.Join(s, " ")
}

func TestV3Permissions(t *testing.T) {
	tests := []struct {
		name, ns string
		want     string
	}{
		{"plain", `{"name": "ns", "protected": false}`, "sub user"},
		{"anonymous", `{"name": "ns", "anonymous": true}`, "sub sub-anon user"},
		{"protected", `{"name": "ns", "protected": true, "anonymous": true}`, "user"},
		{"publish", `{"name": "ns", "publish": true}`, "sub pub pub-anon user"},
		{"publish to subscribers", `{"name": "ns", "publish": true,
		  "subscribe_to_publish": true}`, "sub pub-sub pub-anon user"},
		{"presence", `{"name": "ns", "presence": true}`, "sub pres-sub pres-anon user"},
		{"presence server only", `{"name": "ns", "presence": true,
		  "presence_disable_for_client": true}`, "sub user"},
		{"history", `{"name": "ns", "history_size": 10, "history_ttl": 60}`,
			"sub hist-sub hist-anon user"},
		{"history server only", `{"name": "ns", "history_size": 10, "history_ttl": "60s",
		  "history_disable_for_client": true}`, "sub user"},
		{"position and recover", `{"name": "ns", "history_size": 1, "history_ttl": "1s",
		  "position": true, "recover": true, "join_leave": true}`,
			"sub hist-sub hist-anon user force-pos force-rec force-jl"},
		{"explicit v4 key wins", `{"name": "ns", "publish": true,
		  "allow_publish_for_anonymous": false}`, "sub pub user"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// client_anonymous marks the file as v3.
			c, warnings := loadJSON(t, `{"client_anonymous": false, "namespaces": [`+tt.ns+`]}`)
			if len(warnings) != 0 {
				t.Fatalf("warnings %q", warnings)
			}
			if got := perms(&c.Channel.Namespaces[0].Options); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
			// The top level of a v3 file is open too.
			if got := perms(&c.Channel.WithoutNamespace); got != "sub user" {
				t.Errorf("top level %q", got)
			}
		})
	}
}

func TestDialectDetection(t *testing.T) {
	tests := []struct {
		name, content string
		top, ns       string
	}{
		{"v4 file is closed", `{"presence": true, "namespaces": [{"name": "ns",
		  "presence": true, "proxy_subscribe": true}], "proxy_subscribe_endpoint": "http://x",
		  "client_user_connection_limit": 1, "sockjs": false}`, "", ""},
		{"v3 marker at top level", `{"client_anonymous": true,
		  "namespaces": [{"name": "ns"}]}`, "sub user", "sub user"},
		{"v3 marker in a namespace", `{"namespaces": [{"name": "a1"},
		  {"name": "ns", "recover": false}]}`, "sub user", "sub user"},
		{"v3 top-level option", `{"publish": true, "namespaces": [{"name": "ns"}]}`,
			"sub pub pub-anon user", "sub user"},
		{"v4 options pass", `{"allow_subscribe_for_client": true,
		  "namespaces": [{"name": "ns", "allow_history_for_client": true}]}`, "sub", "hist"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, _ := loadJSON(t, tt.content)
			if got := perms(&c.Channel.WithoutNamespace); got != tt.top {
				t.Errorf("top %q, want %q", got, tt.top)
			}
			ns := c.Channel.Namespaces[len(c.Channel.Namespaces)-1]
			if got := perms(&ns.Options); got != tt.ns {
				t.Errorf("namespace %q, want %q", got, tt.ns)
			}
		})
	}
}

func TestV3NestedOverride(t *testing.T) {
	// A nested key overrides what the v3 conversion derived.
	c, _ := loadJSON(t, `{"anonymous": true,
	  "channel": {"without_namespace": {"allow_subscribe_for_anonymous": false}}}`)
	if got := perms(&c.Channel.WithoutNamespace); got != "sub user" {
		t.Fatalf("got %q", got)
	}
}

func TestV3LongHistory(t *testing.T) {
	// v3 kept stream meta forever, so a history TTL above 720h is fine in a
	// v3 file and an error in a v4+ one.
	c, _ := loadJSON(t, `{"publish": true, "history_size": 10, "history_ttl": "8760h"}`)
	if c.Channel.WithoutNamespace.HistoryTTL != 8760*time.Hour {
		t.Fatal("history ttl lost")
	}
	err := loadErr(t, `{"history_size": 10, "history_ttl": "8760h"}`)
	if !strings.Contains(err.Error(), "can not be greater than history meta ttl") {
		t.Fatalf("error %v", err)
	}
}

func TestV3EnvOptions(t *testing.T) {
	file := writeFile(t, "c.json", `{"publish": true, "anonymous": true}`)
	c, _ := mustLoad(t, Source{File: file, Env: []string{"CENTRIFUGO_PROTECTED=true"}})
	if got := perms(&c.Channel.WithoutNamespace); got != "pub pub-anon user" {
		t.Fatalf("got %q", got)
	}

	// A v3-only option cannot sneak into a v4+ file.
	file = writeFile(t, "c.json", `{"presence": true}`)
	_, _, err := Load(Source{File: file, Env: []string{"CENTRIFUGO_PUBLISH=true"}})
	want := "env CENTRIFUGO_PUBLISH: a v3 channel option"
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("error %v", err)
	}

	// Without a file, the environment decides the dialect.
	c, _ = mustLoad(t, Source{Env: []string{"CENTRIFUGO_PUBLISH=1"}})
	if got := perms(&c.Channel.WithoutNamespace); got != "sub pub pub-anon user" {
		t.Fatalf("env only: %q", got)
	}
}

// TestGranularProxyNameEnables checks that in granular proxy mode a channel
// proxy name alone turns that proxy on (proxy.md §4.5), at top level, in a
// namespace and from the environment, while outside granular mode names
// are ignored and enable nothing.
func TestGranularProxyNameEnables(t *testing.T) {
	c, warnings := loadJSON(t, `{
	 "granular_proxy_mode": true,
	 "proxies": [{"name": "sub1", "endpoint": "http://s"},
	  {"name": "pub1", "endpoint": "http://p"}, {"name": "ref1", "endpoint": "http://r"}],
	 "subscribe_proxy_name": "sub1",
	 "namespaces": [
	  {"name": "xx", "subscribe_proxy_name": "sub1", "publish_proxy_name": "pub1",
	   "sub_refresh_proxy_name": "ref1"},
	  {"name": "v3pub", "publish": true, "publish_proxy_name": "pub1"},
	  {"name": "flag", "proxy_subscribe": false, "subscribe_proxy_name": "sub1"},
	  {"name": "none"}
	 ]
	}`)
	if len(warnings) != 0 {
		t.Fatalf("warnings %q", warnings)
	}
	top := c.Channel.WithoutNamespace
	if !top.SubscribeProxyEnabled || top.SubscribeProxyName != "sub1" ||
		top.PublishProxyEnabled {
		t.Errorf("top level %+v", top)
	}
	ns := map[string]channel.Options{}
	for _, n := range c.Channel.Namespaces {
		ns[n.Name] = n.Options
	}
	if x := ns["xx"]; !x.SubscribeProxyEnabled || x.SubscribeProxyName != "sub1" ||
		x.PublishProxyName != "pub1" || x.SubRefreshProxyName != "ref1" ||
		!x.SubRefreshProxyEnabled {
		t.Errorf("namespace xx %+v", x)
	}
	// The file is v3 (it has "publish"): the publish proxy needs publish.
	if ns["xx"].PublishProxyEnabled {
		t.Errorf("namespace xx without publish has its publish proxy on")
	}
	if p := ns["v3pub"]; !p.PublishProxyEnabled || p.PublishProxyName != "pub1" {
		t.Errorf("namespace v3pub %+v", p)
	}
	// v3 ignored proxy_subscribe in granular mode: the name decides.
	if f := ns["flag"]; !f.SubscribeProxyEnabled {
		t.Errorf("namespace flag %+v", f)
	}
	if n := ns["none"]; n.SubscribeProxyEnabled || n.PublishProxyEnabled ||
		n.SubRefreshProxyEnabled {
		t.Errorf("namespace none %+v", n)
	}

	file := writeFile(t, "c.json", `{"granular_proxy_mode": true,
	  "proxies": [{"name": "pub1", "endpoint": "http://p"}]}`)
	c, _ = mustLoad(t, Source{File: file,
		Env: []string{"CENTRIFUGO_PUBLISH_PROXY_NAME=pub1"}})
	w := c.Channel.WithoutNamespace
	if !w.PublishProxyEnabled || w.PublishProxyName != "pub1" {
		t.Errorf("from the environment %+v", w)
	}

	c, _ = loadJSON(t, `{"proxy_subscribe_endpoint": "http://s",
	  "namespaces": [{"name": "xx", "subscribe_proxy_name": "sub1"}]}`)
	if x := c.Channel.Namespaces[0]; x.SubscribeProxyEnabled ||
		x.SubscribeProxyName != channel.DefaultProxyName {
		t.Errorf("without granular mode %+v", x.Options)
	}
}
