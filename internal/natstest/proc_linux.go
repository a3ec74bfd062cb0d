package natstest

import "syscall"

// sysProcAttr has the kernel kill the server when the test binary dies, so
// that no server outlives an interrupted or timed-out run.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
