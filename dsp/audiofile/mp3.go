package audiofile

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"strings"

	"github.com/hajimehoshi/go-mp3"
)

// mp3Decoder reads go-mp3's output, 16-bit little-endian stereo (mono duplicated), keeps
// one channel of a mono stream and drops the encoder's delay and padding (see mp3Info).
type mp3Decoder struct {
	d    *mp3.Decoder
	ch   int
	buf  []byte
	skip int64 // frames still to drop at the start
	left int64 // frames still to return; -1 when the length is unknown
	err  error
}

func newMP3Decoder(rs io.ReadSeeker) (*mp3Decoder, Format, int64, error) {
	ch, skip, trim, err := mp3Info(rs)
	if err != nil {
		return nil, Format{}, 0, err
	}
	d, err := mp3.NewDecoder(rs)
	if err != nil {
		return nil, Format{}, 0, mp3Err(err, "no audio frames")
	}
	if d.SampleRate() <= 0 {
		return nil, Format{}, 0, errors.New("mp3: no sample rate")
	}
	m := &mp3Decoder{d: d, ch: ch, buf: make([]byte, 4<<12), skip: int64(skip), left: -1}
	frames := int64(-1)
	if n := d.Length(); n >= 0 {
		frames = max(0, n/4-int64(skip)-int64(trim))
		m.left = frames
	}
	f := Format{Codec: MP3, SampleRate: d.SampleRate(), Channels: ch, BitsPerSample: 16}
	return m, f, frames, nil
}

func (m *mp3Decoder) Read(dst [][]float32) (int, error) {
	if m.err != nil {
		return 0, m.err
	}
	want := math.MaxInt
	for c := 0; c < m.ch; c++ {
		want = min(want, len(dst[c]))
	}
	if want == 0 {
		return 0, nil
	}
	for m.skip > 0 {
		got, err := io.ReadFull(m.d, m.buf[:min(int64(len(m.buf)), 4*m.skip)])
		m.skip -= int64(got / 4)
		if err != nil {
			m.err = mp3Err(err, "no audio after the encoder delay")
			if err == io.EOF || err == io.ErrUnexpectedEOF {
				m.err = io.EOF
			}
			return 0, m.err
		}
	}
	if m.left >= 0 {
		want = int(min(int64(want), m.left))
		if want == 0 {
			m.err = io.EOF
			return 0, m.err
		}
	}
	nb := min(want, len(m.buf)/4) * 4
	got, err := io.ReadFull(m.d, m.buf[:nb])
	n := got / 4
	if m.left >= 0 {
		m.left -= int64(n)
	}
	b := m.buf[:n*4]
	for i := 0; i < n; i++ {
		for c := 0; c < m.ch; c++ {
			dst[c][i] = float32(int16(le.Uint16(b[4*i+2*c:]))) / (1 << 15)
		}
	}
	switch err {
	case nil:
	case io.EOF, io.ErrUnexpectedEOF:
		m.err = io.EOF
	default:
		m.err = mp3Err(err, "truncated stream")
	}
	if n > 0 {
		return n, nil
	}
	return 0, m.err
}

// mp3Info reads the first frame (after any ID3v2 tag) and leaves rs at its start. It
// returns 1 channel for a mono stream, else 2, and the frames to drop at the start and the
// end that a LAME/Info tag in that frame describes: the tag frame itself (which go-mp3
// decodes as a frame of silence), the encoder's delay with the decoder's 529, and the
// padding less those 529. Without a tag, nothing is dropped.
func mp3Info(rs io.ReadSeeker) (channels, skip, trim int, err error) {
	var h [10]byte
	if _, err := io.ReadFull(rs, h[:]); err != nil {
		return 0, 0, 0, errors.New("mp3: truncated header")
	}
	off := int64(0)
	if string(h[:3]) == "ID3" {
		off = 10 + (int64(h[6]&0x7F)<<21 | int64(h[7]&0x7F)<<14 | int64(h[8]&0x7F)<<7 | int64(h[9]&0x7F))
		if h[5]&0x10 != 0 {
			off += 10
		}
		end, err := rs.Seek(0, io.SeekEnd)
		if err != nil {
			return 0, 0, 0, fmt.Errorf("mp3: %w", err)
		}
		if off >= end {
			return 0, 0, 0, errors.New("mp3: the ID3 tag runs past the end of the file")
		}
	}
	// The frame header, then the side information and where a Xing/Info tag would be.
	var b [4 + 2 + 32 + 8 + 4 + 4 + 100 + 4 + 24]byte
	if _, err := rs.Seek(off, io.SeekStart); err != nil {
		return 0, 0, 0, fmt.Errorf("mp3: %w", err)
	}
	n, _ := io.ReadFull(rs, b[:])
	if _, err := rs.Seek(0, io.SeekStart); err != nil {
		return 0, 0, 0, fmt.Errorf("mp3: %w", err)
	}
	if n < 4 || b[0] != 0xFF || b[1]&0xE0 != 0xE0 {
		return 2, 0, 0, nil // go-mp3 will say what is wrong
	}
	mpeg1 := b[1]>>3&3 == 3
	mono := b[3]>>6 == 3
	channels = 2
	if mono {
		channels = 1
	}
	side, perFrame := 17, 576 // MPEG-2 and 2.5
	if mpeg1 {
		side, perFrame = 32, 1152
	}
	if mono {
		side = map[bool]int{true: 17, false: 9}[mpeg1]
	}
	p := 4 + side
	if b[1]&1 == 0 { // protected: a CRC follows the header
		p += 2
	}
	t := b[:n]
	if len(t) < p+8 || (string(t[p:p+4]) != "Xing" && string(t[p:p+4]) != "Info") {
		return channels, 0, 0, nil
	}
	flags := binary.BigEndian.Uint32(t[p+4:])
	p += 8
	for _, f := range []struct {
		bit  uint32
		size int
	}{{1, 4}, {2, 4}, {4, 100}, {8, 4}} { // frames, bytes, TOC, quality
		if flags&f.bit != 0 {
			p += f.size
		}
	}
	if len(t) < p+24 {
		return channels, perFrame, 0, nil
	}
	if v := string(t[p : p+4]); v != "LAME" && v != "Lavf" && v != "Lavc" {
		return channels, perFrame, 0, nil // the tag frame alone
	}
	delay := int(t[p+21])<<4 | int(t[p+22])>>4
	padding := int(t[p+22]&0x0F)<<8 | int(t[p+23])
	const decoderDelay = 529
	return channels, perFrame + delay + decoderDelay, max(0, padding-decoderDelay), nil
}

// mp3Err turns a go-mp3 error into one line starting "mp3: "; eof is what an early end
// of input means where it happens.
func mp3Err(err error, eof string) error {
	if err == io.EOF || err == io.ErrUnexpectedEOF {
		return errors.New("mp3: " + eof)
	}
	msg := oneLine(err.Error())
	if !strings.HasPrefix(msg, "mp3: ") {
		msg = "mp3: " + msg
	}
	return errors.New(msg)
}
