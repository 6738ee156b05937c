//go:build !linux

package e2e

import "syscall"

// serverProcAttr: only Linux can tie the server's life to the test binary.
func serverProcAttr() *syscall.SysProcAttr { return nil }
