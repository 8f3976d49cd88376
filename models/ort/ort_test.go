package ort

import (
	"errors"
	"os"
	"sync"
	"testing"
)

// requireRuntime loads the library or skips; under CI a missing library is a failure,
// because `make test` installs it first.
func requireRuntime(t *testing.T) {
	t.Helper()
	if err := Init(""); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("ONNX Runtime missing in CI: %v", err)
		}
		t.Skipf("ONNX Runtime not installed (run make setup): %v", err)
	}
}

func loadAffine(t *testing.T, opt Options) *Session {
	t.Helper()
	model, err := os.ReadFile("testdata/affine.onnx")
	if err != nil {
		t.Fatal(err)
	}
	s, err := NewSession("affine.onnx", model, []string{"x", "y"}, []string{"out"}, opt)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestRunDynamicLength(t *testing.T) {
	requireRuntime(t)
	s := loadAffine(t, Options{})
	for _, n := range []int{1, 7, 16000} {
		x := make([]float32, n)
		y := make([]float32, n)
		for i := range x {
			x[i] = float32(i)
			y[i] = 0.5
		}
		out, err := s.Run([]Tensor{{Shape: []int64{1, 1, int64(n)}, Data: x}, {Shape: []int64{1, 1, int64(n)}, Data: y}})
		if err != nil {
			t.Fatal(err)
		}
		if len(out) != 1 || len(out[0].Data) != n {
			t.Fatalf("n=%d: got %d outputs of %d", n, len(out), len(out[0].Data))
		}
		for i, v := range out[0].Data {
			if want := 2*float32(i) + 0.5; v != want {
				t.Fatalf("n=%d: out[%d]=%v, want %v", n, i, v, want)
			}
		}
	}
}

func TestRunConcurrent(t *testing.T) {
	requireRuntime(t)
	s := loadAffine(t, Options{Threads: 2})
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			x := []float32{float32(g)}
			out, err := s.Run([]Tensor{{Shape: []int64{1, 1, 1}, Data: x}, {Shape: []int64{1, 1, 1}, Data: []float32{1}}})
			if err == nil && out[0].Data[0] != 2*float32(g)+1 {
				err = errors.New("wrong result")
			}
			errs <- err
		}(g)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
}

func TestRunWrongInputs(t *testing.T) {
	requireRuntime(t)
	s := loadAffine(t, Options{})
	if _, err := s.Run([]Tensor{{Shape: []int64{1, 1, 1}, Data: []float32{1}}}); err == nil {
		t.Fatal("one input for a two-input graph: want error")
	}
	_, err := s.Run([]Tensor{{Shape: []int64{1, 1, 2}, Data: []float32{1, 2}}, {Shape: []int64{1, 1, 3}, Data: []float32{1, 2, 3}}})
	if err == nil {
		t.Fatal("mismatched lengths: want error from the runtime")
	}
}

func TestBadModel(t *testing.T) {
	requireRuntime(t)
	_, err := NewSession("garbage.onnx", []byte("not a model"), []string{"x"}, []string{"y"}, Options{})
	if err == nil {
		t.Fatal("want error for garbage model bytes")
	}
}

func TestCUDAUnavailableIsClearError(t *testing.T) {
	requireRuntime(t)
	model, _ := os.ReadFile("testdata/affine.onnx")
	s, err := NewSession("affine.onnx", model, []string{"x", "y"}, []string{"out"}, Options{Provider: CUDA})
	if err == nil {
		defer s.Close()
		if s.Provider() != CUDA {
			t.Fatalf("provider %s without error", s.Provider())
		}
		t.Skip("this ONNX Runtime has CUDA; the missing-provider path is not testable here")
	}
	if !errors.Is(err, ErrNoCUDA) {
		t.Fatalf("error %v does not wrap ErrNoCUDA", err)
	}
	s, err = NewSession("affine.onnx", model, []string{"x", "y"}, []string{"out"}, Options{Provider: CUDA, CPUFallback: true})
	if err != nil {
		t.Fatalf("with fallback: %v", err)
	}
	defer s.Close()
	if s.Provider() != CPU {
		t.Fatalf("fallback provider = %s, want cpu", s.Provider())
	}
}

func TestParseProvider(t *testing.T) {
	for in, want := range map[string]Provider{"": CPU, "cpu": CPU, "CUDA": CUDA} {
		if got, err := ParseProvider(in); err != nil || got != want {
			t.Errorf("ParseProvider(%q) = %v, %v", in, got, err)
		}
	}
	if _, err := ParseProvider("tpu"); err == nil {
		t.Error("tpu: want error")
	}
}
