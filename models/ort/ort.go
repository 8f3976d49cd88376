// Package ort runs ONNX graphs through the ONNX Runtime shared library, on the CPU or,
// when the library has it, the CUDA execution provider.
package ort

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"

	onnx "github.com/yalue/onnxruntime_go"
)

// EnvLibrary names the environment variable that overrides the library path.
const EnvLibrary = "ORT_LIB"

// relLibrary is where `make setup` puts the library, relative to the repository root.
const relLibrary = ".deps/onnxruntime/node_modules/onnxruntime-node/bin/napi-v6/linux/x64/libonnxruntime.so.1"

var (
	initMu   sync.Mutex
	initPath string
)

// LibraryPath finds the ONNX Runtime shared library: $ORT_LIB first, then the set-up
// location in the repository (searched upwards from the working directory and from the
// executable), then the usual system paths.
func LibraryPath() (string, error) {
	if p := os.Getenv(EnvLibrary); p != "" {
		if _, err := os.Stat(p); err != nil {
			return "", fmt.Errorf("%s=%s: %w", EnvLibrary, p, err)
		}
		return p, nil
	}
	var starts []string
	if wd, err := os.Getwd(); err == nil {
		starts = append(starts, wd)
	}
	if exe, err := os.Executable(); err == nil {
		if real, err := filepath.EvalSymlinks(exe); err == nil {
			exe = real
		}
		starts = append(starts, filepath.Dir(exe))
	}
	var tried []string
	for _, dir := range starts {
		for d := dir; ; d = filepath.Dir(d) {
			p := filepath.Join(d, relLibrary)
			if _, err := os.Stat(p); err == nil {
				return p, nil
			}
			for _, name := range []string{"libonnxruntime.so.1", "libonnxruntime.so"} {
				if p := filepath.Join(d, name); fileExists(p) {
					return p, nil
				}
			}
			if filepath.Dir(d) == d {
				break
			}
		}
		tried = append(tried, dir)
	}
	for _, p := range []string{
		"/usr/local/lib/libonnxruntime.so.1", "/usr/local/lib/libonnxruntime.so",
		"/usr/lib/libonnxruntime.so.1", "/usr/lib/libonnxruntime.so",
		"/usr/lib/x86_64-linux-gnu/libonnxruntime.so.1", "/usr/lib/x86_64-linux-gnu/libonnxruntime.so",
	} {
		if fileExists(p) {
			return p, nil
		}
	}
	return "", fmt.Errorf("ONNX Runtime library not found (run `make setup`, or set %s to libonnxruntime.so; searched above %s and the system library paths)",
		EnvLibrary, strings.Join(tried, ", "))
}

func fileExists(p string) bool {
	st, err := os.Stat(p)
	return err == nil && !st.IsDir()
}

// Init loads the ONNX Runtime library once per process. An empty path means LibraryPath().
// Calling it again is cheap; asking for a different library after the first load is an error.
func Init(path string) error {
	initMu.Lock()
	defer initMu.Unlock()
	if path == "" {
		if initPath != "" {
			return nil
		}
		p, err := LibraryPath()
		if err != nil {
			return err
		}
		path = p
	}
	if initPath != "" {
		if initPath != path {
			return fmt.Errorf("ONNX Runtime already loaded from %s, cannot switch to %s", initPath, path)
		}
		return nil
	}
	onnx.SetSharedLibraryPath(path)
	if err := onnx.InitializeEnvironment(onnx.WithLogLevelError()); err != nil {
		return fmt.Errorf("load ONNX Runtime from %s: %w", path, err)
	}
	initPath = path
	return nil
}

// Version reports the loaded library's version, or "" before Init.
func Version() string {
	initMu.Lock()
	defer initMu.Unlock()
	if initPath == "" {
		return ""
	}
	return onnx.GetVersion()
}

// Provider names an execution provider.
type Provider string

const (
	CPU  Provider = "cpu"
	CUDA Provider = "cuda"
)

// ParseProvider accepts "cpu" or "cuda".
func ParseProvider(s string) (Provider, error) {
	switch Provider(strings.ToLower(s)) {
	case CPU, "":
		return CPU, nil
	case CUDA:
		return CUDA, nil
	}
	return "", fmt.Errorf("unknown execution provider %q (want cpu or cuda)", s)
}

// Options configure a session. The zero value runs on the CPU with one intra-op thread.
type Options struct {
	Threads  int      // intra-op threads; 0 means 1 (real-time work wants determinism, not spin-up)
	Provider Provider // "" or CPU, or CUDA
	// CPUFallback lets a CUDA request fall back to the CPU when the library lacks the CUDA
	// provider; without it that is an error.
	CPUFallback bool
}

// ErrNoCUDA is wrapped by the error NewSession returns when CUDA was asked for and the
// library cannot provide it.
var ErrNoCUDA = errors.New("the CUDA execution provider is not available in this ONNX Runtime build (it needs libonnxruntime_providers_cuda.so and libonnxruntime_providers_shared.so beside the library, and CUDA/cuDNN; the npm CPU build has neither)")

func (o Options) sessionOptions() (*onnx.SessionOptions, Provider, error) {
	so, err := onnx.NewSessionOptions()
	if err != nil {
		return nil, "", fmt.Errorf("session options: %w", err)
	}
	threads := o.Threads
	if threads <= 0 {
		threads = 1
	}
	if threads > runtime.NumCPU() {
		threads = runtime.NumCPU()
	}
	if err := so.SetIntraOpNumThreads(threads); err != nil {
		so.Destroy()
		return nil, "", fmt.Errorf("set intra-op threads: %w", err)
	}
	if err := so.SetInterOpNumThreads(1); err != nil {
		so.Destroy()
		return nil, "", fmt.Errorf("set inter-op threads: %w", err)
	}
	provider := o.Provider
	if provider == "" {
		provider = CPU
	}
	if provider == CUDA {
		if err := appendCUDA(so); err != nil {
			if !o.CPUFallback {
				so.Destroy()
				return nil, "", err
			}
			provider = CPU
		}
	}
	return so, provider, nil
}

func appendCUDA(so *onnx.SessionOptions) error {
	cuda, err := onnx.NewCUDAProviderOptions()
	if err != nil {
		return fmt.Errorf("%w: %v", ErrNoCUDA, err)
	}
	defer cuda.Destroy()
	if err := so.AppendExecutionProviderCUDA(cuda); err != nil {
		return fmt.Errorf("%w: %v", ErrNoCUDA, err)
	}
	return nil
}
