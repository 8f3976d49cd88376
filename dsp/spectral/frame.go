package spectral

// NumFullFrames returns how many whole frames of frameLen samples, hop
// apart and starting at sample 0, fit in n samples.
func NumFullFrames(n, frameLen, hop int) int {
	if frameLen < 1 || hop < 1 || n < frameLen {
		return 0
	}
	return (n-frameLen)/hop + 1
}

// Frame splits x into NumFullFrames(len(x), frameLen, hop) frames starting at
// 0, hop, 2·hop, ... The frames share x's memory (they are subslices capped
// at frameLen), so no samples are copied. A trailing partial frame is
// dropped; invalid sizes give no frames.
func Frame(x []float32, frameLen, hop int) [][]float32 {
	n := NumFullFrames(len(x), frameLen, hop)
	frames := make([][]float32, n)
	for k := range frames {
		frames[k] = x[k*hop : k*hop+frameLen : k*hop+frameLen]
	}
	return frames
}

// OverlapAdd sums frames placed hop apart, starting at sample 0, into a
// signal of (len(frames)-1)·hop + frameLen samples, where frameLen is the
// longest frame. It applies no window and no normalisation.
func OverlapAdd(frames [][]float32, hop int) []float32 {
	if len(frames) == 0 || hop < 1 {
		return nil
	}
	frameLen := 0
	for _, f := range frames {
		frameLen = max(frameLen, len(f))
	}
	out := make([]float32, (len(frames)-1)*hop+frameLen)
	for k, f := range frames {
		dst := out[k*hop:]
		for i, v := range f {
			dst[i] += v
		}
	}
	return out
}
