// Package pulse is restoregrad's one client of a PulseAudio or PipeWire (pipewire-pulse)
// sound server. It speaks the server's native protocol (github.com/jfreymuth/pulse/proto,
// pure Go): connections for the audio streams of stream's PulseAudio backend, server info,
// sources, sinks and modules, and the virtual microphone (a null sink plus a remap source)
// that call apps can pick.
package pulse

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/jfreymuth/pulse/proto"
)

// ErrNoServer means no server answered: none listens at the configured address, it
// refused us, stopped answering or closed the connection.
var ErrNoServer = errors.New("no PulseAudio/PipeWire server reachable")

// Timeout bounds connecting and every request, so a stuck server gives an error rather
// than a hang. Dial reads it.
var Timeout = 5 * time.Second

// Options tune Dial. The zero value is a control connection.
type Options struct {
	// Handle receives what the server sends unasked (record stream data, requests for
	// playback data, stream events) on the connection's reader goroutine; nil drops it.
	Handle func(msg any)
	// Blocking puts a local (unix) socket in blocking mode, so that a reader goroutine
	// locked to a real-time thread waits for the server in the kernel and is woken by it
	// directly. Through Go's network poller its wake-up would wait for one of the
	// runtime's normal-priority threads, which a CPU hog delays.
	Blocking bool
}

// Conn is one authenticated connection to the server.
type Conn struct {
	c       *proto.Client
	rw      io.ReadWriteCloser
	addr    string
	timeout time.Duration
	closed  atomic.Bool
	once    sync.Once
}

// address is a place a server may listen: network "unix", "tcp", "tcp4" or "tcp6".
type address struct{ network, addr string }

// Dial connects and authenticates to the server named by PULSE_SERVER, or else the
// per-user one (PULSE_RUNTIME_PATH, XDG_RUNTIME_DIR or /run/user/UID) and then the
// system-wide one, as libpulse looks for them. ctx bounds the connecting only.
func Dial(ctx context.Context, opts Options) (*Conn, error) {
	addrs, err := serverAddresses()
	if err != nil {
		return nil, err
	}
	timeout := Timeout
	var first error
	for _, a := range addrs {
		c, err := dialOne(ctx, a, opts, timeout)
		if err == nil {
			return c, nil
		}
		if ctx.Err() != nil {
			return nil, fmt.Errorf("connect to the PulseAudio server at %s: %w", a.addr, ctx.Err())
		}
		if first == nil {
			first = err // the address the user configured, or the per-user one
		}
	}
	return nil, first
}

func dialOne(ctx context.Context, a address, opts Options, timeout time.Duration) (*Conn, error) {
	d := net.Dialer{Timeout: timeout}
	nc, err := d.DialContext(ctx, a.network, a.addr)
	if err != nil {
		var oe *net.OpError
		if errors.As(err, &oe) && oe.Err != nil {
			err = oe.Err // "connect: no such file or directory", without the address again
		}
		return nil, fmt.Errorf("%w at %s: %v", ErrNoServer, a.addr, err)
	}
	var rw io.ReadWriteCloser = nc
	if opts.Blocking {
		rw = blocking(nc)
	}
	c := &Conn{c: &proto.Client{}, rw: rw, addr: a.addr, timeout: timeout}
	c.c.SetTimeout(timeout)
	handle := opts.Handle
	// The client calls Callback when the server closes the connection, so it is never nil.
	c.c.Callback = func(msg any) {
		if _, ok := msg.(*proto.ConnectionClosed); ok {
			c.closed.Store(true)
		}
		if handle != nil {
			handle(msg)
		}
	}
	c.c.Open(rw)
	// A cancelled ctx ends the handshake at once rather than after the timeout.
	stop := context.AfterFunc(ctx, func() { c.Close() })
	defer stop()
	var auth proto.AuthReply
	if err := c.Request(&proto.Auth{Version: c.c.Version(), Cookie: cookie()}, &auth); err != nil {
		c.Close()
		return nil, c.handshakeErr("authenticate", err)
	}
	c.c.SetVersion(auth.Version)
	props := proto.PropList{
		"application.name":       proto.PropListString("restoregrad"),
		"application.process.id": proto.PropListString(strconv.Itoa(os.Getpid())),
	}
	if err := c.Request(&proto.SetClientName{Props: props}, &proto.SetClientNameReply{}); err != nil {
		c.Close()
		return nil, c.handshakeErr("set the client name", err)
	}
	return c, nil
}

// handshakeErr makes every failure to get a connection going an ErrNoServer.
func (c *Conn) handshakeErr(what string, err error) error {
	if errors.Is(err, ErrNoServer) {
		return err
	}
	return fmt.Errorf("%w at %s: %s: %v", ErrNoServer, c.addr, what, err)
}

// Request sends req and waits, at most Timeout, for the reply, which it decodes into rpl
// (nil for requests without one). A server that does not answer in time, or has closed
// the connection, gives an error wrapping ErrNoServer; a refusal is the server's
// proto.Error.
func (c *Conn) Request(req proto.RequestArgs, rpl proto.Reply) error {
	err := c.c.Request(req, rpl)
	if err == nil {
		return nil
	}
	var perr proto.Error
	switch {
	case errors.As(err, &perr):
		return err
	case errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("%w: no answer from %s after %v", ErrNoServer, c.addr, c.timeout)
	default:
		return fmt.Errorf("%w: the connection to %s is closed: %v", ErrNoServer, c.addr, err)
	}
}

// Send writes a data packet of stream index. It neither allocates nor waits for the
// server; it holds the connection's write lock while writing.
func (c *Conn) Send(index uint32, data []byte) error { return c.c.Send(index, data) }

// Closed reports whether the connection is closed, by the server or by Close.
func (c *Conn) Closed() bool { return c.closed.Load() }

// Close closes the connection; requests in flight fail. Later calls do nothing.
func (c *Conn) Close() error {
	c.closed.Store(true)
	var err error
	c.once.Do(func() { err = c.rw.Close() })
	return err
}

// with runs f on a fresh connection that ctx's cancellation closes.
func with(ctx context.Context, f func(c *Conn) error) error {
	c, err := Dial(ctx, Options{})
	if err != nil {
		return err
	}
	defer c.Close()
	stop := context.AfterFunc(ctx, func() { c.Close() })
	defer stop()
	if err := f(c); err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("%w: %w", ctx.Err(), err)
		}
		return err
	}
	return nil
}

// serverAddresses is where Dial looks for the server.
func serverAddresses() ([]address, error) {
	if s := os.Getenv("PULSE_SERVER"); s != "" {
		addrs := parseServer(s)
		if len(addrs) == 0 {
			return nil, fmt.Errorf("%w: PULSE_SERVER=%q names no unix or tcp address", ErrNoServer, s)
		}
		return addrs, nil
	}
	dir := os.Getenv("PULSE_RUNTIME_PATH")
	if dir == "" {
		if x := os.Getenv("XDG_RUNTIME_DIR"); x != "" {
			dir = filepath.Join(x, "pulse")
		} else {
			dir = filepath.Join("/run/user", strconv.Itoa(os.Getuid()), "pulse")
		}
	}
	return []address{{"unix", filepath.Join(dir, "native")}, {"unix", "/var/run/pulse/native"}}, nil
}

// parseServer reads a PulseAudio server string: addresses separated by spaces, each
// optionally prefixed by {host} (ignored), as unix:PATH, /PATH, tcp:HOST[:PORT], tcp4:
// or tcp6:. Other forms are skipped.
func parseServer(s string) []address {
	var out []address
	for _, f := range strings.Fields(s) {
		if strings.HasPrefix(f, "{") {
			if i := strings.IndexByte(f, '}'); i >= 0 {
				f = f[i+1:]
			}
		}
		switch {
		case strings.HasPrefix(f, "/"):
			out = append(out, address{"unix", f})
		case strings.HasPrefix(f, "unix:"):
			out = append(out, address{"unix", f[5:]})
		case strings.HasPrefix(f, "tcp:"), strings.HasPrefix(f, "tcp4:"), strings.HasPrefix(f, "tcp6:"):
			network, addr, _ := strings.Cut(f, ":")
			if _, _, err := net.SplitHostPort(addr); err != nil {
				addr = net.JoinHostPort(strings.Trim(addr, "[]"), "4713")
			}
			out = append(out, address{network, addr})
		}
	}
	return out
}

// cookie is the authentication cookie: PULSE_COOKIE, else ~/.config/pulse/cookie. Servers
// with auth-anonymous (and PipeWire) accept any, so a missing file gives zeros.
func cookie() []byte {
	p := os.Getenv("PULSE_COOKIE")
	if p == "" {
		home, _ := os.UserHomeDir()
		p = filepath.Join(home, ".config", "pulse", "cookie")
	}
	b, err := os.ReadFile(p)
	if err != nil || len(b) == 0 {
		return make([]byte, 256)
	}
	return b
}

// blocking returns a unix socket as a file in blocking mode (see Options.Blocking). Other
// connections are returned as they are.
func blocking(conn net.Conn) io.ReadWriteCloser {
	uc, ok := conn.(*net.UnixConn)
	if !ok {
		return conn
	}
	f, err := uc.File() // a duplicate of the descriptor
	if err != nil {
		return conn
	}
	conn.Close()
	f.Fd() // puts the descriptor in blocking mode: reads and writes are plain system calls
	return &blockingSocket{f}
}

// blockingSocket is a socket in blocking mode.
type blockingSocket struct{ *os.File }

// Close shuts the socket down first: closing a descriptor does not wake a thread
// blocked reading it.
func (s *blockingSocket) Close() error {
	syscall.Shutdown(int(s.File.Fd()), syscall.SHUT_RDWR)
	return s.File.Close()
}
