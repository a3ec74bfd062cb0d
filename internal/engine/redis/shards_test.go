package redis

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/heraldhq/herald/internal/config"
)

func TestJumpHashIsConsistent(t *testing.T) {
	const keys = 10000
	moved := 0
	counts := make([]int, 4)
	for k := range uint64(keys) {
		key := k * 0x9e3779b97f4a7c15
		three, four := jumpHash(key, 3), jumpHash(key, 4)
		if three < 0 || three >= 3 || four < 0 || four >= 4 {
			t.Fatalf("key %d: buckets %d of 3, %d of 4", k, three, four)
		}
		counts[four]++
		// Growing from 3 to 4 shards moves keys only to the new shard.
		if three != four {
			moved++
			if four != 3 {
				t.Fatalf("key %d moved from shard %d to old shard %d", k, three, four)
			}
		}
	}
	if moved < keys/5 || moved > keys/3 {
		t.Errorf("%d of %d keys moved to the fourth shard, want about a quarter", moved, keys)
	}
	for i, n := range counts {
		if n < keys/5 || n > keys/3 {
			t.Errorf("shard %d holds %d of %d keys, want about a quarter", i, n, keys)
		}
	}
}

func TestClientOptions(t *testing.T) {
	opts, cluster, err := clientOptions(config.Redis{
		Address:  []string{"127.0.0.1:6379", "redis://u:p@127.0.0.2:6380/3"},
		Password: "shared", DB: 1,
	})
	if err != nil || cluster || len(opts) != 2 {
		t.Fatalf("options %+v, cluster %v, err %v", opts, cluster, err)
	}
	if a := opts[0]; a.InitAddress[0] != "127.0.0.1:6379" || a.Password != "shared" ||
		a.SelectDB != 1 || !a.ForceSingleClient {
		t.Errorf("plain address: %+v", a)
	}
	if b := opts[1]; b.InitAddress[0] != "127.0.0.2:6380" || b.Username != "u" ||
		b.Password != "p" || b.SelectDB != 3 {
		t.Errorf("URL address: %+v", b)
	}

	if _, _, err := clientOptions(config.Redis{SentinelAddress: []string{"a:1"}}); err == nil {
		t.Error("sentinel without a master name accepted")
	}
	opts, cluster, err = clientOptions(config.Redis{ClusterAddress: []string{"a:1,b:2", "c:3"}})
	if err != nil || !cluster || len(opts) != 1 || len(opts[0].InitAddress) != 3 {
		t.Errorf("cluster: %+v, %v, %v", opts, cluster, err)
	}
}

func TestConnect(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	s, err := Connect(ctx, config.Redis{Address: []string{"127.0.0.1:6379", "127.0.0.1:6379"},
		ConnectTimeout: time.Second})
	if err != nil {
		t.Fatalf("connect to the local Redis: %v", err)
	}
	defer s.Close()
	seen := map[int]bool{}
	for i := range 100 {
		c := s.For("ch" + strconv.Itoa(i))
		for j, sc := range s.All() {
			if sc == c {
				seen[j] = true
			}
		}
	}
	if len(seen) != 2 {
		t.Errorf("100 channels used shards %v of 2", seen)
	}

	_, err = Connect(ctx, config.Redis{Address: []string{"127.0.0.1:1"},
		ConnectTimeout: 200 * time.Millisecond})
	if err == nil {
		t.Error("connect to a closed port succeeded")
	}
}
