// Package redistest runs real redis-server processes for tests: single
// servers ([Start]), Redis Clusters ([StartCluster]) and Sentinels
// ([StartSentinel]), each on a free loopback port with a directory and a
// log of its own. A failed test prints the end of every log it started.
//
// Every process belongs to the test that started it and is stopped by that
// test's cleanup. On Linux the kernel also kills it when the test binary
// dies first, so an interrupted run leaves no server behind. One goroutine
// per running process waits for its exit; it ends with the process, which
// the cleanup guarantees.
//
// The package checks readiness over a minimal RESP client of its own
// (see call); tests talk to the servers with the engine's Redis client.
package redistest
