package stream

import (
	"reflect"
	"testing"
	"time"
)

// AddCounts sums every int64 field, so that a count added to Stats later is summed too,
// and takes nothing else from the earlier stream.
func TestStatsAddCounts(t *testing.T) {
	var now, earlier Stats
	nv, ev := reflect.ValueOf(&now).Elem(), reflect.ValueOf(&earlier).Elem()
	counts := 0
	for i := range nv.NumField() {
		switch f := nv.Field(i); f.Interface().(type) {
		case int64:
			f.SetInt(int64(i + 1))
			ev.Field(i).SetInt(100)
			counts++
		case time.Duration:
			f.SetInt(int64(i + 1))
			ev.Field(i).SetInt(100)
		}
	}
	now.Backend, earlier.Backend = BackendPulse, BackendPortAudio
	now.Rate, earlier.Rate = 48000, 16000
	now.InputPeak, earlier.InputPeak = 0.5, 0.25
	now.Realtime, earlier.Realtime = "SCHED_FIFO 3", "refused"
	want := now
	now.AddCounts(earlier)
	if counts < 9 {
		t.Fatalf("found %d int64 counts in Stats, want at least 9", counts)
	}
	wv := reflect.ValueOf(want)
	for i := range nv.NumField() {
		name := nv.Type().Field(i).Name
		got, was := nv.Field(i).Interface(), wv.Field(i).Interface()
		if _, ok := got.(int64); ok {
			if got.(int64) != was.(int64)+100 {
				t.Errorf("%s = %v, want %v + 100", name, got, was)
			}
			continue
		}
		if got != was {
			t.Errorf("%s = %v, want this stream's %v", name, got, was)
		}
	}
}
