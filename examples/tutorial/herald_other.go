//go:build !linux

package main

import "os/exec"

// setParentDeathSignal does nothing where the kernel has no parent death
// signal: the tutorial stops Herald itself when it exits normally.
func setParentDeathSignal(*exec.Cmd) {}
