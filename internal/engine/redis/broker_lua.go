package redis

import (
	_ "embed"

	"github.com/redis/rueidis"
)

// The scripts are sent once with SCRIPT LOAD semantics by rueidis (EVALSHA,
// falling back to EVAL after a NOSCRIPT, e.g. after a Redis restart).
var (
	//go:embed publish.lua
	publishSource string
	//go:embed history.lua
	historySource string

	publishScript = rueidis.NewLuaScript(publishSource)
	historyScript = rueidis.NewLuaScript(historySource)
)
