package e2e

import "syscall"

// serverProcAttr makes the kernel stop a quire server if the test binary
// dies without cleaning up (a panic, or go test's -timeout), so no server
// outlives the run.
func serverProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
