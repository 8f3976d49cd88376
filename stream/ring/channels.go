package ring

import "fmt"

// Channels is one Ring per channel, written and read a frame (a sample of every channel)
// at a time, with the same one-writer, one-reader rules as a Ring. The writer fills the
// channels in order and the reader takes only what the last one holds, so the reader
// never sees a frame with some channels missing.
type Channels struct {
	rs []*Ring
}

// NewChannels returns channels rings that hold at least minFrames frames each.
func NewChannels(channels, minFrames int) (*Channels, error) {
	if channels < 1 {
		return nil, fmt.Errorf("ring: %d channels", channels)
	}
	c := &Channels{}
	for range channels {
		r, err := New(minFrames)
		if err != nil {
			return nil, err
		}
		c.rs = append(c.rs, r)
	}
	return c, nil
}

// Len is the number of frames ready to read (see Ring.Len).
func (c *Channels) Len() int {
	n := c.rs[0].Len()
	for _, r := range c.rs[1:] {
		n = min(n, r.Len())
	}
	return n
}

// Free is the number of frames that can be written now (see Ring.Free).
func (c *Channels) Free() int {
	n := c.rs[0].Free()
	for _, r := range c.rs[1:] {
		n = min(n, r.Free())
	}
	return n
}

// Write copies as many frames of p (one slice per channel, all as long as p[0]) as fit
// and returns how many. Producer only.
func (c *Channels) Write(p [][]float32) int {
	k := min(len(p[0]), c.Free())
	for i, r := range c.rs {
		r.Write(p[i][:k])
	}
	return k
}

// WriteZeros appends up to n frames of silence and returns how many. Producer only.
func (c *Channels) WriteZeros(n int) int {
	k := min(n, c.Free())
	for _, r := range c.rs {
		r.WriteZeros(k)
	}
	return k
}

// Read copies up to len(p[0]) frames into p (one slice per channel) and returns how
// many. Consumer only.
func (c *Channels) Read(p [][]float32) int {
	k := min(len(p[0]), c.Len())
	for i, r := range c.rs {
		r.Read(p[i][:k])
	}
	return k
}

// Discard drops up to n of the oldest frames and returns how many. Consumer only.
func (c *Channels) Discard(n int) int {
	k := min(n, c.Len())
	for _, r := range c.rs {
		r.Discard(k)
	}
	return k
}
