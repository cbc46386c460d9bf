//go:build unix

package awstest

import (
	"os/exec"
	"syscall"
)

// setProcessGroup puts moto_server in its own process group, so that
// killProcessGroup also reaches the Python interpreter behind wrapper scripts
// such as pyenv shims.
func setProcessGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
}

func killProcessGroup(cmd *exec.Cmd) {
	if cmd.Process == nil {
		return
	}
	// The group id equals the leader's pid because of Setpgid.
	_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
}
