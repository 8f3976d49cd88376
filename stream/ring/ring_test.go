package ring

import (
	"runtime"
	"sync"
	"testing"
)

func TestNewRoundsUpToPowerOfTwo(t *testing.T) {
	for _, c := range []struct{ in, want int }{{1, 1}, {2, 2}, {3, 4}, {1000, 1024}, {1024, 1024}} {
		r, err := New(c.in)
		if err != nil {
			t.Fatal(err)
		}
		if r.Cap() != c.want {
			t.Errorf("New(%d).Cap() = %d, want %d", c.in, r.Cap(), c.want)
		}
	}
	for _, bad := range []int{0, -1, 1<<30 + 1} {
		if _, err := New(bad); err == nil {
			t.Errorf("New(%d): no error", bad)
		}
	}
}

func TestWriteReadWrapAround(t *testing.T) {
	r, _ := New(8)
	next := float32(0) // next value to write
	want := float32(0) // next value expected on read
	buf := make([]float32, 5)
	for round := 0; round < 100; round++ {
		chunk := make([]float32, 1+round%7)
		for i := range chunk {
			chunk[i] = next + float32(i)
		}
		free := r.Free()
		n := r.Write(chunk)
		if n != min(len(chunk), free) {
			t.Fatalf("round %d: Write wrote %d of %d with %d free", round, n, len(chunk), free)
		}
		next += float32(n)
		m := r.Read(buf[:1+round%5])
		for i := 0; i < m; i++ {
			if buf[i] != want {
				t.Fatalf("round %d: read %v, want %v", round, buf[i], want)
			}
			want++
		}
		if r.Len() != int(next-want) {
			t.Fatalf("round %d: Len %d, want %d", round, r.Len(), int(next-want))
		}
	}
}

func TestFullAndEmpty(t *testing.T) {
	r, _ := New(4)
	if n := r.Read(make([]float32, 4)); n != 0 {
		t.Fatalf("read %d from empty ring", n)
	}
	if n := r.Write([]float32{1, 2, 3, 4, 5}); n != 4 {
		t.Fatalf("wrote %d into a 4-sample ring", n)
	}
	if n := r.Write([]float32{6}); n != 0 || r.Free() != 0 {
		t.Fatalf("wrote %d into a full ring (free %d)", n, r.Free())
	}
	if n := r.Discard(3); n != 3 {
		t.Fatalf("discarded %d, want 3", n)
	}
	if n := r.WriteZeros(10); n != 3 {
		t.Fatalf("WriteZeros wrote %d, want 3", n)
	}
	got := make([]float32, 8)
	if n := r.Read(got); n != 4 || got[0] != 4 || got[1] != 0 || got[3] != 0 {
		t.Fatalf("read %d %v, want 4 [4 0 0 0]", n, got[:n])
	}
}

func TestNoAllocation(t *testing.T) {
	r, _ := New(1024)
	in := make([]float32, 100)
	out := make([]float32, 100)
	allocs := testing.AllocsPerRun(100, func() {
		r.Write(in)
		r.WriteZeros(10)
		r.Read(out)
		r.Discard(10)
	})
	if allocs != 0 {
		t.Fatalf("%v allocations per run, want 0", allocs)
	}
}

// TestStressSPSC runs one producer and one consumer flat out on a small ring and checks
// that the consumer sees every sample exactly once, in order. Run it with -race.
func TestStressSPSC(t *testing.T) {
	r, _ := New(64)
	total := 2_000_000
	if testing.Short() {
		total = 200_000
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		chunk := make([]float32, 13)
		v := 0
		for v < total {
			n := min(len(chunk), total-v)
			for i := 0; i < n; i++ {
				chunk[i] = float32(v + i)
			}
			for off := 0; off < n; {
				w := r.Write(chunk[off:n])
				if w == 0 {
					runtime.Gosched()
				}
				off += w
			}
			v += n
		}
	}()
	buf := make([]float32, 17)
	want := 0
	for want < total {
		n := r.Read(buf)
		if n == 0 {
			runtime.Gosched()
			continue
		}
		for i := 0; i < n; i++ {
			if buf[i] != float32(want) {
				t.Fatalf("sample %d: got %v", want, buf[i])
			}
			want++
		}
	}
	wg.Wait()
	if r.Len() != 0 {
		t.Fatalf("%d samples left", r.Len())
	}
}

func BenchmarkWriteRead480(b *testing.B) {
	r, _ := New(4096)
	p := make([]float32, 480)
	b.SetBytes(480 * 4)
	for b.Loop() {
		r.Write(p)
		r.Read(p)
	}
}
