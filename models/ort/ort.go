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
	"testing"

	onnx "github.com/yalue/onnxruntime_go"
)

// EnvLibrary names the environment variable that overrides the library path.
const EnvLibrary = "ORT_LIB"

// relLibrary is where `make setup` puts the library, relative to the repository root.
const relLibrary = ".deps/onnxruntime/node_modules/onnxruntime-node/bin/napi-v6/linux/x64/libonnxruntime.so.1"

// privateDir is the package's private folder for the library (make deb): PREFIX/lib/restoregrad
// for an executable in PREFIX/bin and a plugin in PREFIX/lib/ladspa.
const privateDir = "restoregrad"

// libraryNames are the file names looked for in a folder, and the first is the name the
// dynamic loader is finally asked for.
var libraryNames = []string{"libonnxruntime.so.1", "libonnxruntime.so"}

// systemLibraryDirs are searched before the loader's own default search, which does not
// cover /usr/local/lib unless ldconfig has run.
var systemLibraryDirs = []string{"/usr/local/lib", "/usr/lib/x86_64-linux-gnu", "/usr/lib"}

var (
	initMu   sync.Mutex
	initPath string
	// pluginDir has its own lock: Init calls LibraryPath with initMu held.
	pluginMu  sync.Mutex
	pluginDir string
)

// SetPluginDir tells the search the folder of the plugin (a shared library loaded into
// another program, whose executable is then the host's) that uses this package: the
// library is looked for there, and in the set-up location relative to it, as it is next
// to the executable. Call it before Init.
func SetPluginDir(dir string) {
	pluginMu.Lock()
	defer pluginMu.Unlock()
	pluginDir = dir
}

// LibraryPath finds the ONNX Runtime shared library. Only explicit places are searched,
// in this order: $ORT_LIB; the folder of the plugin (SetPluginDir) and of the executable;
// the package's private folder (lib/restoregrad beside the plugin's folder, or under the
// executable's prefix: /usr/lib/restoregrad for /usr/lib/ladspa and /usr/bin); where `make
// setup` puts it relative to those folders (the folder itself, or its parent
// for a binary in bin/); the system library folders; and last the dynamic loader's own
// search by library name, which LibraryPath returns as a bare name. The working
// directory and its parents are never searched: a library planted there would run with
// the user's rights. Test binaries (go test) also find the set-up copy of the module they
// test.
func LibraryPath() (string, error) {
	pluginMu.Lock()
	plugin := pluginDir
	pluginMu.Unlock()
	var s librarySearch
	s.env = os.Getenv(EnvLibrary)
	if plugin != "" {
		s.dirs = append(s.dirs, plugin)
		s.private = append(s.private, filepath.Join(filepath.Dir(plugin), privateDir))
	}
	if exe, err := os.Executable(); err == nil {
		if real, err := filepath.EvalSymlinks(exe); err == nil {
			exe = real
		}
		s.dirs = append(s.dirs, filepath.Dir(exe))
		s.private = append(s.private, filepath.Join(filepath.Dir(filepath.Dir(exe)), "lib", privateDir))
	}
	if testing.Testing() {
		if root := moduleRoot(); root != "" {
			s.roots = append(s.roots, root)
		}
	}
	s.system = systemLibraryDirs
	return s.find()
}

// PluginLibraryPath is the library a plugin in dir loads inside a host that sets no
// $ORT_LIB and whose executable is not ours (PipeWire, sox): LibraryPath's places that are
// left, beside the plugin, the package's private folder, `make setup`'s, the system's; the
// bare name for the dynamic loader when none has it.
func PluginLibraryPath(dir string) (string, error) {
	s := librarySearch{dirs: []string{dir}, private: []string{filepath.Join(filepath.Dir(dir), privateDir)}, system: systemLibraryDirs}
	return s.find()
}

// librarySearch is one search, its inputs spelled out so that tests can give their own.
type librarySearch struct {
	env     string   // $ORT_LIB
	dirs    []string // the plugin's and the executable's folders
	private []string // the package's private folders for them
	roots   []string // further repository roots (tests only)
	system  []string // system library folders
}

// find returns the first library found, or the bare name for the dynamic loader.
func (s librarySearch) find() (string, error) {
	if s.env != "" {
		if !fileExists(s.env) {
			return "", fmt.Errorf("%s=%s: no such library file", EnvLibrary, s.env)
		}
		return s.env, nil
	}
	for _, d := range append(s.dirs[:len(s.dirs):len(s.dirs)], s.private...) {
		for _, name := range libraryNames {
			if p := filepath.Join(d, name); fileExists(p) {
				return p, nil
			}
		}
	}
	var roots []string
	for _, d := range s.dirs {
		roots = append(roots, d, filepath.Dir(d))
	}
	for _, r := range append(roots, s.roots...) {
		if p := filepath.Join(r, relLibrary); fileExists(p) {
			return p, nil
		}
	}
	for _, d := range s.system {
		for _, name := range libraryNames {
			if p := filepath.Join(d, name); fileExists(p) {
				return p, nil
			}
		}
	}
	return libraryNames[0], nil
}

// searched describes the places LibraryPath looks in, for the error when loading fails.
func searched() string {
	return "$" + EnvLibrary + ", the executable's (or plugin's) folder, the package's lib/restoregrad (/usr/lib/restoregrad), the .deps/ of `make setup` beside it or one level up, " +
		strings.Join(systemLibraryDirs, ", ") + " and the dynamic loader's search path"
}

// moduleRoot is the folder of the go.mod above the working directory: a test binary runs
// in its package's source folder.
func moduleRoot() string {
	wd, err := os.Getwd()
	if err != nil {
		return ""
	}
	for d := wd; ; d = filepath.Dir(d) {
		if fileExists(filepath.Join(d, "go.mod")) {
			return d
		}
		if filepath.Dir(d) == d {
			return ""
		}
	}
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
		if !strings.ContainsRune(path, '/') {
			return fmt.Errorf("ONNX Runtime library not found (searched %s; run `make setup`, or set %s or --ort-lib): %w", searched(), EnvLibrary, err)
		}
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
