package redis

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"net"
	"strings"

	"github.com/redis/rueidis"

	"github.com/heraldhq/herald/internal/config"
)

// Shards is the set of Redis deployments a node uses: one client per
// configured address, or one for a Redis Cluster or a Sentinel-managed
// master. A channel's keys and PUB/SUB traffic always go to one shard,
// chosen by [Shards.For].
type Shards struct {
	clients []rueidis.Client
	// cluster is true for a Redis Cluster: keys of one channel then share a
	// hash tag so that they land in one slot.
	cluster bool
}

// Connect opens a client per shard of cfg and checks that each answers.
func Connect(ctx context.Context, cfg config.Redis) (*Shards, error) {
	opts, cluster, err := clientOptions(cfg)
	if err != nil {
		return nil, err
	}

	s := &Shards{cluster: cluster}
	for _, o := range opts {
		c, err := rueidis.NewClient(o)
		if err != nil {
			s.Close()
			return nil, fmt.Errorf("redis: connect %s: %w", strings.Join(o.InitAddress, ","), err)
		}
		s.clients = append(s.clients, c)
		if err := c.Do(ctx, c.B().Ping().Build()).Error(); err != nil {
			s.Close()
			return nil, fmt.Errorf("redis: ping %s: %w", strings.Join(o.InitAddress, ","), err)
		}
	}
	return s, nil
}

// clientOptions turns the config into one client option per shard.
func clientOptions(cfg config.Redis) ([]rueidis.ClientOption, bool, error) {
	tlsCfg, err := config.ClientTLS(cfg.TLS)
	if err != nil {
		return nil, false, fmt.Errorf("redis: tls: %w", err)
	}
	sentinelTLS, err := config.ClientTLS(cfg.SentinelTLS)
	if err != nil {
		return nil, false, fmt.Errorf("redis: sentinel_tls: %w", err)
	}
	base := rueidis.ClientOption{
		TLSConfig:        tlsCfg,
		Username:         cfg.User,
		Password:         cfg.Password,
		SelectDB:         cfg.DB,
		ClientName:       cfg.ClientName,
		AlwaysRESP2:      cfg.ForceResp2,
		Dialer:           net.Dialer{Timeout: cfg.ConnectTimeout},
		ConnWriteTimeout: cfg.IOTimeout,
		// Herald reads what it wrote a moment ago on other nodes; client
		// side caching would need invalidation it does not use.
		DisableCache: true,
	}
	switch {
	case len(cfg.SentinelAddress) > 0:
		if cfg.SentinelMasterName == "" {
			return nil, false, errors.New("redis: sentinel_master_name is required with sentinel_address")
		}
		o := base
		o.InitAddress = cfg.SentinelAddress
		o.Sentinel = rueidis.SentinelOption{
			MasterSet:  cfg.SentinelMasterName,
			Username:   cfg.SentinelUser,
			Password:   cfg.SentinelPassword,
			ClientName: cfg.SentinelClientName,
			TLSConfig:  sentinelTLS,
		}
		return []rueidis.ClientOption{o}, false, nil
	case len(cfg.ClusterAddress) > 0:
		o := base
		for _, a := range cfg.ClusterAddress {
			o.InitAddress = append(o.InitAddress, strings.Split(a, ",")...)
		}
		return []rueidis.ClientOption{o}, true, nil
	}

	addrs := cfg.Address
	if len(addrs) == 0 {
		addrs = []string{"127.0.0.1:6379"}
	}
	out := make([]rueidis.ClientOption, 0, len(addrs))
	for _, a := range addrs {
		o, err := shardOption(base, a)
		if err != nil {
			return nil, false, err
		}
		// One address is one shard, never a cluster seed.
		o.ForceSingleClient = true
		out = append(out, o)
	}
	return out, false, nil
}

// shardOption applies one address, host:port or a redis:// URL whose user,
// password and database override the shared settings.
func shardOption(base rueidis.ClientOption, addr string) (rueidis.ClientOption, error) {
	if !strings.Contains(addr, "://") {
		o := base
		o.InitAddress = []string{addr}
		return o, nil
	}
	u, err := rueidis.ParseURL(addr)
	if err != nil {
		return base, fmt.Errorf("redis: address %q: %w", addr, err)
	}
	o := base
	o.InitAddress = u.InitAddress
	if u.Username != "" {
		o.Username = u.Username
	}
	if u.Password != "" {
		o.Password = u.Password
	}
	if u.SelectDB != 0 {
		o.SelectDB = u.SelectDB
	}
	if u.TLSConfig != nil {
		o.TLSConfig = u.TLSConfig
	}
	return o, nil
}

// For returns the client of the shard that owns ch. The choice is a jump
// consistent hash, so adding a shard moves about 1/n of the channels.
func (s *Shards) For(ch string) rueidis.Client {
	return s.clients[s.index(ch)]
}

// index is the position in [Shards.All] of the shard that owns ch.
func (s *Shards) index(ch string) int {
	if len(s.clients) == 1 {
		return 0
	}
	return jumpHash(hashString(ch), len(s.clients))
}

// hashString is the 64-bit FNV-1a hash of s.
func hashString(s string) uint64 {
	h := fnv.New64a()
	_, _ = h.Write([]byte(s))
	return h.Sum64()
}

// All returns every shard's client, for work that spans channels.
func (s *Shards) All() []rueidis.Client { return s.clients }

// Cluster reports whether the shards are one Redis Cluster.
func (s *Shards) Cluster() bool { return s.cluster }

// Close closes every client.
func (s *Shards) Close() {
	for _, c := range s.clients {
		c.Close()
	}
}

// jumpHash maps key to one of n buckets (Lamping and Veach, "A Fast,
// Minimal Memory, Consistent Hash Algorithm").
func jumpHash(key uint64, n int) int {
	var b, j int64 = -1, 0
	for j < int64(n) {
		b = j
		key = key*2862933555777941757 + 1
		j = int64(float64(b+1) * (float64(int64(1)<<31) / float64((key>>33)+1)))
	}
	return int(b)
}
