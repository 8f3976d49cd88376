package pulse

import (
	"bytes"
	"encoding/binary"
	"io"
	"net"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/jfreymuth/pulse/proto"
)

// fakeServer speaks enough of the native protocol for the control path: the handshake,
// server info, the module list, load-module and unload-module. A sink or source list needs
// the real server (TestServer*).
type fakeServer struct {
	addr string
	ln   net.Listener

	mu      sync.Mutex
	name    string         // the server's package name
	modules []fakeModule   // loaded modules, in load order
	next    int            // the next module index
	refuse  map[string]int // module name → how many loads to refuse
	mute    bool           // read requests, never answer
	gone    []string       // names of the modules unloaded, in order
}

type fakeModule struct {
	index      int
	name, args string
}

// newFakeServer listens on a unix socket in a temporary folder and points PULSE_SERVER
// at it.
func newFakeServer(t *testing.T) *fakeServer {
	t.Helper()
	path := filepath.Join(t.TempDir(), "native")
	ln, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	s := &fakeServer{addr: path, ln: ln, name: "pulseaudio", next: 1, refuse: map[string]int{}}
	t.Cleanup(func() { ln.Close() })
	t.Setenv("PULSE_SERVER", "unix:"+path)
	go s.serve()
	return s
}

func (s *fakeServer) serve() {
	for {
		c, err := s.ln.Accept()
		if err != nil {
			return
		}
		go s.conn(c)
	}
}

// tagWriter writes a tagstruct, big-endian like the protocol.
type tagWriter struct{ bytes.Buffer }

func (w *tagWriter) u32(v uint32) { w.WriteByte('L'); binary.Write(w, binary.BigEndian, v) }
func (w *tagWriter) str(v string) { w.WriteByte('t'); w.WriteString(v); w.WriteByte(0) }
func (w *tagWriter) props(p map[string]string) {
	w.WriteByte('P')
	for k, v := range p {
		w.str(k)
		w.u32(uint32(len(v) + 1))
		w.WriteByte('x')
		binary.Write(w, binary.BigEndian, uint32(len(v)+1))
		w.WriteString(v)
		w.WriteByte(0)
	}
	w.WriteByte('N')
}

// tagReader reads the fields of a request.
type tagReader struct{ b []byte }

func (r *tagReader) u32() uint32 {
	if len(r.b) < 5 || r.b[0] != 'L' {
		return proto.Undefined
	}
	v := binary.BigEndian.Uint32(r.b[1:])
	r.b = r.b[5:]
	return v
}

func (r *tagReader) str() string {
	if len(r.b) == 0 || r.b[0] == 'N' {
		r.b = r.b[min(1, len(r.b)):]
		return ""
	}
	s, rest, _ := bytes.Cut(r.b[1:], []byte{0})
	r.b = rest
	return string(s)
}

func (s *fakeServer) conn(c net.Conn) {
	defer c.Close()
	var hdr [20]byte
	for {
		if _, err := io.ReadFull(c, hdr[:]); err != nil {
			return
		}
		body := make([]byte, binary.BigEndian.Uint32(hdr[:]))
		if _, err := io.ReadFull(c, body); err != nil {
			return
		}
		r := &tagReader{body}
		op, tag := r.u32(), r.u32()
		s.mu.Lock()
		mute := s.mute
		s.mu.Unlock()
		if mute {
			continue
		}
		reply, perr := s.answer(op, r)
		var w tagWriter
		if perr != 0 {
			w.u32(proto.OpError)
			w.u32(tag)
			w.u32(uint32(perr))
		} else {
			w.u32(proto.OpReply)
			w.u32(tag)
			w.Write(reply)
		}
		binary.BigEndian.PutUint32(hdr[0:], uint32(w.Len()))
		binary.BigEndian.PutUint32(hdr[4:], proto.Undefined)
		clear(hdr[8:])
		if _, err := c.Write(append(hdr[:], w.Bytes()...)); err != nil {
			return
		}
	}
}

// answer returns the reply's fields, or the error the server sends.
func (s *fakeServer) answer(op uint32, r *tagReader) ([]byte, proto.Error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var w tagWriter
	switch op {
	case proto.OpAuth:
		w.u32(32)
	case proto.OpSetClientName:
		w.u32(7)
	case proto.OpGetServerInfo:
		w.str(s.name)
		w.str("16.1")
		w.str("user")
		w.str("host")
		w.Write([]byte{'a', proto.FormatInt16LE, 2, 0, 0, 0xac, 0x44})
		w.str("rg_out")
		w.str("rg_mic.monitor")
		w.u32(1)
		w.Write([]byte{'m', 2, 1, 2})
	case proto.OpGetModuleInfoList:
		for _, m := range s.modules {
			w.u32(uint32(m.index))
			w.str(m.name)
			w.str(m.args)
			w.u32(0)
			w.props(map[string]string{"module.description": m.name})
		}
	case proto.OpLoadModule:
		name, args := r.str(), r.str()
		if s.refuse[name] > 0 {
			s.refuse[name]--
			return nil, proto.ErrModuleInitializationFailed
		}
		s.modules = append(s.modules, fakeModule{s.next, name, args})
		w.u32(uint32(s.next))
		s.next++
	case proto.OpUnloadModule:
		idx := int(r.u32())
		for i, m := range s.modules {
			if m.index == idx {
				s.gone = append(s.gone, m.name)
				s.modules = append(s.modules[:i], s.modules[i+1:]...)
				return nil, 0
			}
		}
		return nil, proto.ErrNoSuchEntity
	default:
		return nil, proto.ErrNotSupported
	}
	return w.Bytes(), 0
}

// load adds a module as if another client had loaded it.
func (s *fakeServer) load(name, args string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.modules = append(s.modules, fakeModule{s.next, name, args})
	s.next++
	return s.next - 1
}

func (s *fakeServer) list() []fakeModule {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]fakeModule(nil), s.modules...)
}

func (s *fakeServer) has(sub string) bool {
	for _, m := range s.list() {
		if strings.Contains(m.args, sub) {
			return true
		}
	}
	return false
}
