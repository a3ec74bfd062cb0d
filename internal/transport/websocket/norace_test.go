//go:build !race

package websocket

// raceEnabled is true under -race, where sync.Pool drops items at random.
const raceEnabled = false
