package ring

import "testing"

// Frames go through whole: every channel's samples in order, Len and Free in frames.
func TestChannels(t *testing.T) {
	c, err := NewChannels(2, 8)
	if err != nil {
		t.Fatal(err)
	}
	if n := c.Write([][]float32{{1, 2, 3}, {-1, -2, -3}}); n != 3 || c.Len() != 3 || c.Free() != 5 {
		t.Fatalf("wrote %d, len %d, free %d; want 3, 3, 5", n, c.Len(), c.Free())
	}
	if n := c.Write([][]float32{make([]float32, 9), make([]float32, 9)}); n != 5 {
		t.Fatalf("wrote %d into 5 free frames", n)
	}
	if c.Discard(1) != 1 {
		t.Fatal("discard 1")
	}
	got := [][]float32{make([]float32, 2), make([]float32, 2)}
	if n := c.Read(got); n != 2 || got[0][0] != 2 || got[0][1] != 3 || got[1][0] != -2 || got[1][1] != -3 {
		t.Fatalf("read %d: %v", n, got)
	}
	if c.WriteZeros(10) != 3 || c.Len() != 8 {
		t.Fatalf("len %d after filling with zeros, want 8", c.Len())
	}
	if _, err := NewChannels(0, 8); err == nil {
		t.Error("0 channels: want an error")
	}
}
