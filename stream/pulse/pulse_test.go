package pulse

import (
	"context"
	"os/exec"
	"strconv"
	"strings"
	"testing"
)

func requireServer(t *testing.T) {
	t.Helper()
	if _, err := Info(context.Background()); err != nil {
		t.Skipf("no PulseAudio server reachable (run: eval \"$(scripts/pulse-test-server.sh start)\"): %v", err)
	}
}

func TestParseInfoDetectsPipeWire(t *testing.T) {
	si := parseInfo("Server String: /run/user/1000/pulse/native\nServer Name: PulseAudio (on PipeWire 1.0.5)\nServer Version: 15.0.0\nDefault Sink: a\nDefault Source: b\n")
	if !si.PipeWire || si.DefaultSink != "a" || si.DefaultSource != "b" || si.Version != "15.0.0" {
		t.Fatalf("%+v", si)
	}
	if parseInfo("Server Name: pulseaudio\n").PipeWire {
		t.Fatal("pulseaudio taken for PipeWire")
	}
}

func TestParseList(t *testing.T) {
	out := "Source #3\n\tState: IDLE\n\tName: x.monitor\n\tDescription: Monitor of X\n\tSample Specification: float32le 1ch 48000Hz\n" +
		"\tOwner Module: 7\n\tVolume: mono: 65536 / 100%\n\t        balance 0.00\n\tProperties:\n\t\tdevice.description = \"Monitor of X\"\n\t\trestoregrad.pid = \"12\"\n\tFormats:\n\t\tpcm\n\n" +
		"Module #9\n\tName: module-null-sink\n\tArgument: sink_name=a restoregrad.virtual=1\n\tUsage counter: n/a\n"
	objs := parseList(out)
	if len(objs) != 2 {
		t.Fatalf("%d objects", len(objs))
	}
	s := objs[0]
	if s.Kind != "Source" || s.Index != 3 || s.Name != "x.monitor" || s.Rate != 48000 || s.Channels != 1 || s.OwnerModule != 7 ||
		s.Properties["restoregrad.pid"] != "12" || s.Description != "Monitor of X" {
		t.Fatalf("%+v", s)
	}
	if m := objs[1]; m.Kind != "Module" || m.Index != 9 || m.Name != "module-null-sink" || !strings.Contains(m.Argument, Tag) {
		t.Fatalf("%+v", m)
	}
}

func TestNoServerIsAClearError(t *testing.T) {
	t.Setenv("PULSE_SERVER", "unix:/nonexistent/restoregrad-test")
	_, err := Info(context.Background())
	if err == nil || !strings.Contains(err.Error(), "no PulseAudio") {
		t.Fatalf("want ErrNoServer, got %v", err)
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
	src, ok := Find(sources, SourceName)
	if !ok || src.Description != "RestoreGrad Test Mic" {
		t.Fatalf("virtual source missing or misnamed: %+v", src)
	}
	if src.Properties["device.class"] == "monitor" {
		t.Fatal("the virtual mic is a monitor source; browsers ignore those")
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

func TestStaleModulesOfADeadProcessAreRemoved(t *testing.T) {
	requireServer(t)
	ctx := context.Background()
	Remove(ctx, 0)
	t.Cleanup(func() { Remove(ctx, 0) })
	// A process that is certainly dead: one that ran and exited.
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

func TestModuleLoadRefusedIsReported(t *testing.T) {
	requireServer(t)
	_, err := LoadModule(context.Background(), "module-null-sink", "no_such_argument=1")
	if err == nil || !strings.Contains(err.Error(), "refused") {
		t.Fatalf("want a refusal, got %v", err)
	}
}
