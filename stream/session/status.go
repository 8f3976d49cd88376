package session

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"strings"
	"time"
)

func dbfs(peak float32) float64 {
	if peak <= 0 {
		return -96
	}
	return max(-96, 20*math.Log10(float64(peak)))
}

// meter draws a peak level from -60 to 0 dBFS in 10 cells.
func meter(peak float32) string {
	cells := int(math.Round((dbfs(peak) + 60) / 6))
	cells = min(max(cells, 0), 10)
	return "[" + strings.Repeat("#", cells) + strings.Repeat(" ", 10-cells) + "]"
}

func statusLine(s Summary) string {
	mode := fmt.Sprintf("%d steps", s.Engine.Steps)
	if s.Engine.Bypassed {
		mode = "BYPASS"
	}
	if strings.HasPrefix(s.Stream.Realtime, "refused") || strings.Contains(s.Stream.Realtime, "refused)") {
		mode += "  RT refused" // the summary says why
	}
	if s.Stream.BusyCushion > 0 {
		mode += fmt.Sprintf("  busy +%.0f ms", ms(s.Stream.BusyCushion))
	}
	return fmt.Sprintf("in %s %4.0f dB  out %s %4.0f dB  load p99 %.2f  latency %3.0f ms  xruns in %d out %d  dropped %d  %s",
		meter(s.Stream.InputPeak), dbfs(s.Stream.InputPeak), meter(s.Stream.OutputPeak), dbfs(s.Stream.OutputPeak),
		s.Engine.P99Load, s.LatencyMs, s.Stream.InputXruns, s.Stream.OutputXruns, s.Stream.DroppedFrames, mode)
}

func summaryText(s Summary) string {
	var b strings.Builder
	fmt.Fprintf(&b, "live: stopped (%s) after %.1f s\n", s.StoppedBy, s.Elapsed/1000)
	fmt.Fprintf(&b, "  frames %d (bypassed %d, %.1f s), RTF mean %.3f, max frame load %.2f, steps now %d, step changes %d\n",
		s.Engine.Frames, s.Engine.BypassFrames, s.BypassMs/1000, s.Engine.RTF, s.Engine.MaxLoad, s.Engine.Steps, s.Engine.StepChanges)
	fmt.Fprintf(&b, "  xruns: input %d, output %d; samples lost in %d, output gaps %d; dropped frames %d; reconnects %d\n",
		s.Stream.InputXruns, s.Stream.OutputXruns, s.Stream.InputLost, s.Stream.OutputGaps, s.Stream.DroppedFrames, s.Reconnects)
	fmt.Fprintf(&b, "  latency estimate %.1f ms (mean; now: devices %.1f, buffers %.1f, algorithmic %.1f); scheduling: %s\n",
		s.LatencyMs, ms(s.Stream.DeviceLatency), ms(s.Stream.Buffered), ms(s.Stream.Algorithmic), s.Stream.Realtime)
	if s.Stream.BusyCushion > 0 || s.Stream.PaddedFrames > 0 {
		fmt.Fprintf(&b, "  busy machine: output margin now +%.0f ms (%d silent frames doubled to grow it)\n",
			ms(s.Stream.BusyCushion), s.Stream.PaddedFrames)
	}
	if s.RecordError != "" {
		fmt.Fprintf(&b, "  %s; kept what came before in %s\n", s.RecordError, strings.Join(s.RecordFiles, " and "))
	} else {
		for _, f := range s.RecordFiles {
			fmt.Fprintf(&b, "  wrote %s\n", f)
		}
	}
	return b.String()
}

func ms(d time.Duration) float64 { return float64(d) / 1e6 }

// writeJSONFile replaces name with v as JSON, through a temporary file, so that a reader
// never sees half a snapshot.
func writeJSONFile(name string, v any) error {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	tmp := name + ".tmp"
	if err := os.WriteFile(tmp, append(data, '\n'), 0o644); err != nil {
		return fmt.Errorf("write %s: %w", name, err)
	}
	if err := os.Rename(tmp, name); err != nil {
		return fmt.Errorf("write %s: %w", name, err)
	}
	return nil
}
