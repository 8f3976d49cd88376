package pulse

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestParseServer(t *testing.T) {
	got := parseServer("{host}unix:/run/pulse/native /tmp/x tcp:localhost tcp4:10.0.0.1:4714 tcp6:[::1] bogus")
	want := []address{{"unix", "/run/pulse/native"}, {"unix", "/tmp/x"}, {"tcp", "localhost:4713"}, {"tcp4", "10.0.0.1:4714"}, {"tcp6", "[::1]:4713"}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
}

func TestServerAddresses(t *testing.T) {
	t.Setenv("PULSE_SERVER", "")
	t.Setenv("PULSE_RUNTIME_PATH", "")
	t.Setenv("XDG_RUNTIME_DIR", "/run/user/1234")
	system := address{"unix", "/var/run/pulse/native"}
	for _, c := range []struct {
		runtime string
		want    string
	}{
		{"", "/run/user/1234/pulse/native"},
		{"/tmp/rt", "/tmp/rt/native"},
	} {
		t.Setenv("PULSE_RUNTIME_PATH", c.runtime)
		got, err := serverAddresses()
		if err != nil || !reflect.DeepEqual(got, []address{{"unix", c.want}, system}) {
			t.Errorf("PULSE_RUNTIME_PATH=%q: got %v, %v; want %s then the system socket", c.runtime, got, err, c.want)
		}
	}
	t.Setenv("PULSE_SERVER", "bogus")
	if _, err := serverAddresses(); !errors.Is(err, ErrNoServer) || !strings.Contains(err.Error(), "bogus") {
		t.Errorf("an unusable PULSE_SERVER: got %v", err)
	}
}

// oneLine fails t unless err wraps ErrNoServer and reads as one line that contains want.
func oneLine(t *testing.T, err error, want string) {
	t.Helper()
	if !errors.Is(err, ErrNoServer) {
		t.Fatalf("want ErrNoServer, got %v", err)
	}
	if msg := err.Error(); strings.Contains(msg, "\n") || !strings.Contains(msg, want) {
		t.Fatalf("want one line containing %q, got %q", want, msg)
	}
}

func TestNoServerIsAClearError(t *testing.T) {
	t.Setenv("PULSE_SERVER", "unix:/nonexistent/restoregrad-test")
	_, err := Info(context.Background())
	oneLine(t, err, "no PulseAudio/PipeWire server reachable at /nonexistent/restoregrad-test")
	_, err = CreateVirtualMic(context.Background(), "")
	oneLine(t, err, "/nonexistent/restoregrad-test")
}

func TestStuckServerTimesOut(t *testing.T) {
	s := newFakeServer(t)
	s.mute = true
	old := Timeout
	Timeout = 200 * time.Millisecond
	t.Cleanup(func() { Timeout = old })
	start := time.Now()
	_, err := Info(context.Background())
	oneLine(t, err, "no answer")
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("gave up after %v with a %v timeout", d, Timeout)
	}
}

func TestServerThatHangsUpIsErrNoServer(t *testing.T) {
	path := filepath.Join(t.TempDir(), "native")
	ln, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	t.Setenv("PULSE_SERVER", path)
	_, err = Info(context.Background())
	oneLine(t, err, path)
}

func TestCancelledContextEndsTheCall(t *testing.T) {
	s := newFakeServer(t)
	s.mute = true // only the cancellation can end the call before Timeout
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := Ours(ctx)
	if err == nil || time.Since(start) > Timeout/2 {
		t.Fatalf("got %v after %v", err, time.Since(start))
	}
}

func TestInfoDetectsPipeWire(t *testing.T) {
	s := newFakeServer(t)
	si, err := Info(context.Background())
	if err != nil || si.PipeWire || si.Name != "pulseaudio" || si.Version != "16.1" || si.DefaultSink != "rg_out" || si.DefaultSource != "rg_mic.monitor" {
		t.Fatalf("%+v %v", si, err)
	}
	s.name = "PulseAudio (on PipeWire 1.0.5)"
	if si, err := Info(context.Background()); err != nil || !si.PipeWire {
		t.Fatalf("PipeWire not detected: %+v %v", si, err)
	}
}

func TestListUnknownKind(t *testing.T) {
	if _, err := List(context.Background(), "cards"); err == nil || !strings.Contains(err.Error(), "cards") {
		t.Fatalf("got %v", err)
	}
}

// ourArgs is the argument of a module of ours created by process pid.
func ourArgs(pid int) string {
	return fmt.Sprintf(`sink_name=x sink_properties="device.description=x %s %s=%d"`, Tag, pidProp, pid)
}

func TestVirtualMicOnFakeServer(t *testing.T) {
	s := newFakeServer(t)
	ctx := context.Background()
	other := s.load("module-null-sink", "sink_name=someone_elses")
	vm, err := CreateVirtualMic(ctx, `My "Mic"`)
	if err != nil {
		t.Fatal(err)
	}
	// A name other than the default gets devices of its own (two microphones side by side).
	if vm.Description != "My Mic" || vm.Sink != SinkName+"_my_mic" || vm.Source != SourceName+"_my_mic" || vm.PipeWire || len(vm.Modules) != 2 {
		t.Fatalf("%+v", vm)
	}
	mods := s.list()
	if len(mods) != 3 || mods[1].name != "module-null-sink" || mods[2].name != "module-remap-source" {
		t.Fatalf("modules: %+v", mods)
	}
	pid := pidProp + "=" + strconv.Itoa(os.Getpid())
	for _, want := range []string{"sink_name=" + vm.Sink, "rate=48000", "format=float32le", Tag, pid, "device.description='My Mic (playback side)'"} {
		if !strings.Contains(mods[1].args, want) {
			t.Errorf("the null sink's argument %q lacks %q", mods[1].args, want)
		}
	}
	for _, want := range []string{"master=" + vm.Sink + ".monitor", "source_name=" + vm.Source, "device.class=sound", Tag, pid} {
		if !strings.Contains(mods[2].args, want) {
			t.Errorf("the remap source's argument %q lacks %q", mods[2].args, want)
		}
	}
	ours, err := Ours(ctx)
	if err != nil || len(ours) != 2 || ours[0].PID != os.Getpid() || ours[1].Index != mods[2].index {
		t.Fatalf("Ours: %+v %v", ours, err)
	}
	if again, err := CreateVirtualMic(ctx, "My Mic"); err != nil || len(again.Modules) != 2 || len(s.list()) != 3 {
		t.Fatalf("a second create is not a no-op: %v, %d modules", err, len(s.list()))
	}
	if pid, err := Owner(ctx); err != nil || pid != 0 {
		t.Fatalf("this process's own modules reported as in use by %d (%v)", pid, err)
	}
	if err := vm.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if mods := s.list(); len(mods) != 1 || mods[0].index != other {
		t.Fatalf("after Close: %+v", mods)
	}
	if !reflect.DeepEqual(s.gone, []string{"module-remap-source", "module-null-sink"}) {
		t.Fatalf("unloaded %v; the source must go before the sink it remaps", s.gone)
	}
}

func TestStaleModulesAreReplaced(t *testing.T) {
	s := newFakeServer(t)
	cmd := exec.Command("true") // a process that is certainly dead: one that ran and exited
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	dead := cmd.Process.Pid
	s.load("module-null-sink", ourArgs(dead))
	s.load("module-null-sink", ourArgs(os.Getpid())) // half a set of our own
	if _, err := CreateVirtualMic(context.Background(), ""); err != nil {
		t.Fatal(err)
	}
	mods, _ := Ours(context.Background())
	if len(mods) != 2 || mods[0].PID != os.Getpid() || mods[1].PID != os.Getpid() {
		t.Fatalf("want one fresh set of ours, got %+v", mods)
	}
	if !s.has("device.description='" + DefaultDescription + "'") {
		t.Fatal("an empty description did not become the default one")
	}
}

func TestLiveOwnerIsInUse(t *testing.T) {
	s := newFakeServer(t)
	ctx := context.Background()
	owner := os.Getppid() // alive, and not this process
	s.load("module-null-sink", ourArgs(owner))
	if pid, err := Owner(ctx); err != nil || pid != owner {
		t.Fatalf("Owner: %d %v, want %d", pid, err, owner)
	}
	if _, err := CreateVirtualMic(ctx, ""); !errors.Is(err, ErrInUse) || !strings.Contains(err.Error(), strconv.Itoa(owner)) {
		t.Fatalf("CreateVirtualMic: want ErrInUse naming pid %d, got %v", owner, err)
	}
	if _, err := RemoveStale(ctx); !errors.Is(err, ErrInUse) {
		t.Fatalf("RemoveStale: want ErrInUse, got %v", err)
	}
	if len(s.list()) != 1 {
		t.Fatal("a live process's module was removed")
	}
	if n, err := Remove(ctx, 0); err != nil || n != 1 || len(s.list()) != 0 {
		t.Fatalf("Remove(0): %d %v", n, err)
	}
}

func TestRefusedLoadLeavesNoHalfSet(t *testing.T) {
	s := newFakeServer(t)
	ctx := context.Background()
	s.refuse["module-null-sink"] = 1
	_, err := LoadModule(ctx, "module-null-sink", "no_such_argument=1")
	if err == nil || errors.Is(err, ErrNoServer) || !strings.Contains(err.Error(), "refused to load module-null-sink") {
		t.Fatalf("want a refusal, got %v", err)
	}
	s.refuse["module-remap-source"] = 1
	if _, err := CreateVirtualMic(ctx, ""); err == nil || !strings.Contains(err.Error(), "refused") {
		t.Fatalf("want the refusal, got %v", err)
	}
	if mods := s.list(); len(mods) != 0 {
		t.Fatalf("half a virtual microphone left: %+v", mods)
	}
	if err := UnloadModule(ctx, 99); err == nil || !strings.Contains(err.Error(), "99") {
		t.Fatalf("unloading a missing module: %v", err)
	}
}

func TestSanitize(t *testing.T) {
	if got := sanitize(" a'b\"c\\d\te "); got != "abcde" {
		t.Fatalf("got %q", got)
	}
}

// requireServer skips t unless a real server answers.
func requireServer(t *testing.T) {
	t.Helper()
	if _, err := Info(context.Background()); err != nil {
		t.Skipf("no PulseAudio server reachable (run: eval \"$(scripts/pulse-test-server.sh start)\"): %v", err)
	}
}

func TestServerListsSinksAndSources(t *testing.T) {
	requireServer(t)
	ctx := context.Background()
	sinks, err := List(ctx, "sinks")
	if err != nil {
		t.Fatal(err)
	}
	mic, ok := Find(sinks, "rg_mic")
	if !ok {
		t.Skip("the server has no rg_mic sink (start it with scripts/pulse-test-server.sh start)")
	}
	if mic.Kind != "Sink" || mic.Rate != 48000 || mic.Channels != 1 || mic.Description != "rg_mic" || mic.OwnerModule < 0 {
		t.Fatalf("rg_mic: %+v", mic)
	}
	sources, err := List(ctx, "sources")
	if err != nil {
		t.Fatal(err)
	}
	mon, ok := Find(sources, "rg_mic.monitor")
	if !ok || mon.Kind != "Source" || mon.Rate != 48000 || mon.Properties["device.class"] != "monitor" {
		t.Fatalf("rg_mic.monitor: %+v", mon)
	}
	mods, err := List(ctx, "modules")
	if err != nil {
		t.Fatal(err)
	}
	owner := false
	for _, m := range mods {
		owner = owner || (m.Index == mic.OwnerModule && m.Name == "module-null-sink" && strings.Contains(m.Argument, "sink_name=rg_mic"))
	}
	if !owner {
		t.Fatalf("no module %d loading rg_mic among %+v", mic.OwnerModule, mods)
	}
}

func TestVirtualMicLifecycle(t *testing.T) {
	requireServer(t)
	ctx := context.Background()
	Remove(ctx, 0)
	t.Cleanup(func() { Remove(ctx, 0) })
	before, _ := List(ctx, "modules")

	vm, err := CreateVirtualMic(ctx, "RestoreGrad Test Mic")
	if err != nil {
		t.Fatal(err)
	}
	again, err := CreateVirtualMic(ctx, "RestoreGrad Test Mic")
	if err != nil || len(again.Modules) != 2 {
		t.Fatalf("second create: %v %+v", err, again)
	}
	mods, _ := Ours(ctx)
	if len(mods) != 2 {
		t.Fatalf("want exactly 2 modules after two creates, got %+v", mods)
	}
	sources, _ := List(ctx, "sources")
	src, ok := Find(sources, vm.Source)
	if !ok || vm.Source != SourceName+"_restoregrad_test_mic" || src.Description != "RestoreGrad Test Mic" || src.Rate != Rate || src.Channels != 1 || !IsOurs(src) {
		t.Fatalf("virtual source missing or misnamed: %+v", src)
	}
	if src.Properties["device.class"] == "monitor" {
		t.Fatal("the virtual mic is a monitor source; browsers ignore those")
	}
	sinks, _ := List(ctx, "sinks")
	if sink, ok := Find(sinks, vm.Sink); !ok || sink.Rate != Rate || !IsOurs(sink) {
		t.Fatalf("virtual sink missing: %+v", sink)
	}
	if err := vm.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if mods, _ := Ours(ctx); len(mods) != 0 {
		t.Fatalf("modules left after Close: %+v", mods)
	}
	after, _ := List(ctx, "modules")
	if len(after) != len(before) {
		t.Fatalf("%d modules before, %d after: someone else's was touched or ours left", len(before), len(after))
	}
}

func TestServerStaleModulesOfADeadProcessAreRemoved(t *testing.T) {
	requireServer(t)
	ctx := context.Background()
	Remove(ctx, 0)
	t.Cleanup(func() { Remove(ctx, 0) })
	cmd := exec.Command("true")
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	dead := cmd.Process.Pid
	if _, err := LoadModule(ctx, "module-null-sink", "sink_name="+SinkName,
		`sink_properties="device.description=stale `+Tag+` `+pidProp+`=`+strconv.Itoa(dead)+`"`); err != nil {
		t.Fatal(err)
	}
	if _, err := CreateVirtualMic(ctx, ""); err != nil {
		t.Fatal(err)
	}
	mods, _ := Ours(ctx)
	if len(mods) != 2 {
		t.Fatalf("want one fresh set, got %+v", mods)
	}
	for _, m := range mods {
		if m.PID == dead {
			t.Fatalf("stale module %d kept", m.Index)
		}
	}
}

func TestServerRefusesABadModule(t *testing.T) {
	requireServer(t)
	_, err := LoadModule(context.Background(), "module-null-sink", "no_such_argument=1")
	if err == nil || errors.Is(err, ErrNoServer) || !strings.Contains(err.Error(), "refused") {
		t.Fatalf("want a refusal, got %v", err)
	}
}

func TestCancelledBeforeDialIsNotNoServer(t *testing.T) {
	newFakeServer(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Info(ctx); !errors.Is(err, context.Canceled) || errors.Is(err, ErrNoServer) {
		t.Fatalf("want context.Canceled, not ErrNoServer: %v", err)
	}
}

// A remap source unloaded behind our back (pactl unload-module) is loaded again on the
// sink that is still there; the sink, which the denoiser plays into, stays.
func TestUnloadedSourceIsReloaded(t *testing.T) {
	s := newFakeServer(t)
	ctx := context.Background()
	vm, err := CreateVirtualMic(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(vm.Loaded, []string{"module-null-sink", "module-remap-source"}) {
		t.Fatalf("first create loaded %v", vm.Loaded)
	}
	sink, source := vm.Modules[0].Index, vm.Modules[1].Index
	if again, err := CreateVirtualMic(ctx, ""); err != nil || len(again.Loaded) != 0 {
		t.Fatalf("while both are there: loaded %v, %v", again.Loaded, err)
	}
	if err := UnloadModule(ctx, source); err != nil {
		t.Fatal(err)
	}
	again, err := CreateVirtualMic(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	mods := s.list()
	if !reflect.DeepEqual(again.Loaded, []string{"module-remap-source"}) || len(mods) != 2 || mods[0].index != sink ||
		mods[1].name != "module-remap-source" || !strings.Contains(mods[1].args, "master="+SinkName+".monitor") {
		t.Fatalf("after the source was unloaded: loaded %v, modules %+v", again.Loaded, mods)
	}
	if len(s.gone) != 1 {
		t.Errorf("unloaded %v; the sink must stay", s.gone)
	}
	vm.Close(ctx)
}

// Two microphones with different --name run side by side (issue 24, item 8): another
// live process's microphone of another name is left alone; of the same name, refused.
func TestTwoNamedMicrophones(t *testing.T) {
	s := newFakeServer(t)
	ctx := context.Background()
	owner := os.Getppid() // alive, and not this process
	s.load("module-null-sink", fmt.Sprintf(`sink_name=%s sink_properties="%s %s=%d"`, SinkName, Tag, pidProp, owner))
	s.load("module-remap-source", fmt.Sprintf(`master=%s.monitor source_name=%s source_properties="%s %s=%d"`, SinkName, SourceName, Tag, pidProp, owner))
	if _, err := CreateVirtualMic(ctx, ""); !errors.Is(err, ErrInUse) {
		t.Fatalf("the default name again: %v, want ErrInUse", err)
	}
	vm, err := CreateVirtualMic(ctx, "Other Mic")
	if err != nil {
		t.Fatal(err)
	}
	if vm.Sink != SinkName+"_other_mic" || vm.Source != SourceName+"_other_mic" || len(s.list()) != 4 {
		t.Fatalf("%+v; modules %+v", vm, s.list())
	}
	mods, _ := Ours(ctx)
	instances := map[string]int{}
	for _, m := range mods {
		instances[m.Instance]++
	}
	if instances[""] != 2 || instances["other_mic"] != 2 {
		t.Errorf("instances %v", instances)
	}
	if again, err := CreateVirtualMic(ctx, "Other Mic"); err != nil || len(again.Loaded) != 0 {
		t.Errorf("again: %v %v", again, err)
	}
	vm.Close(ctx)
	if len(s.list()) != 2 {
		t.Errorf("Close removed another process's microphone: %+v", s.list())
	}
}

func TestSlug(t *testing.T) {
	for in, want := range map[string]string{DefaultDescription: "", "": "", "Other Mic": "other_mic", " Desk--Mic 2 ": "desk_mic_2"} {
		if got := Slug(in); got != want {
			t.Errorf("Slug(%q) = %q, want %q", in, got, want)
		}
	}
	if a, b := Slug("Микрофон"), Slug("Микрофон 2"); a == "" || a == b {
		t.Errorf("non-Latin names: %q %q", a, b)
	}
}
