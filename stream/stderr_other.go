//go:build !unix

package stream

func redirectStderr(f func() error) error { return f() }
