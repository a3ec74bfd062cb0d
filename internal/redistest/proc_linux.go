package redistest

import (
	"os"
	"syscall"
)

// sysProcAttr puts the server in a process group of its own, so that Kill
// reaches the children it forks for background saves, and has the kernel
// kill it when the test binary dies: no server outlives an interrupted or
// timed-out test run. The death signal follows the thread that started
// the process, and the Go runtime does not end threads of goroutines that
// did not lock one, which the tests starting servers do not do.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}

// terminate asks the server to shut down gracefully.
func terminate(p *os.Process) error {
	return p.Signal(syscall.SIGTERM)
}

// killGroup kills the server's process group; the group is gone once the
// server and its children exited, which is fine.
func killGroup(p *os.Process) {
	_ = syscall.Kill(-p.Pid, syscall.SIGKILL)
}
