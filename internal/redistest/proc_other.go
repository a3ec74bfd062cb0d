//go:build !linux

package redistest

import (
	"os"
	"syscall"
)

// sysProcAttr returns nil: outside Linux there is no death signal, so a
// server may outlive a test binary that is killed before its cleanups run.
func sysProcAttr() *syscall.SysProcAttr { return nil }

// terminate asks the server to shut down gracefully where the platform
// has signals, and kills it elsewhere.
func terminate(p *os.Process) error {
	if err := p.Signal(syscall.SIGTERM); err != nil {
		return p.Kill()
	}
	return nil
}

// killGroup kills the server; without process groups its children are
// left to exit on their own.
func killGroup(p *os.Process) {
	_ = p.Kill()
}
