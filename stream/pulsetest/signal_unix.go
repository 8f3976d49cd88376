//go:build unix

package pulsetest

import "syscall"

var interrupt = syscall.SIGINT
