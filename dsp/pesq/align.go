package pesq

import "math"

// vad computes the per-window speech activity of s (energy above an
// adaptive noise threshold, with short bursts removed, short gaps joined
// and on/offset ramps) and its log-energy envelope used for alignment.
func (p *params) vad(s *signal) {
	nw := s.n / p.ds
	v := make([]float32, nw)
	for c := range v {
		var e float32
		for _, g := range s.data[c*p.ds : (c+1)*p.ds] {
			e += g * g
		}
		v[c] = e / float32(p.ds)
	}

	var thresh float32
	for _, e := range v {
		thresh += e
	}
	thresh /= float32(nw)

	var levelMin float32
	for _, e := range v {
		if e > levelMin {
			levelMin = e
		}
	}
	if levelMin > 0 {
		levelMin *= 1e-4
	} else {
		levelMin = 1
	}
	for c := range v {
		if v[c] < levelMin {
			v[c] = levelMin
		}
	}

	for it := 0; it < 12; it++ {
		var noise, std float32
		n := 0
		for _, e := range v {
			if e <= thresh {
				noise += e
				n++
			}
		}
		if n > 0 {
			noise /= float32(n)
			for _, e := range v {
				if e <= thresh {
					g := e - noise
					std += g * g
				}
			}
			std = float32(math.Sqrt(float64(std / float32(n))))
		}
		thresh = 1.001 * (noise + 2*std)
	}

	var noise, sig float32
	n := 0
	for _, e := range v {
		if e > thresh {
			sig += e
			n++
		} else {
			noise += e
		}
	}
	if n > 0 {
		sig /= float32(n)
	} else {
		thresh = -1
	}
	if n < nw {
		noise /= float32(nw - n)
	} else {
		noise = 1
	}

	// Negative values mark non-speech from here on.
	for c := range v {
		if v[c] <= thresh {
			v[c] = -v[c]
		}
	}
	v[0] = -levelMin
	v[nw-1] = -levelMin

	// Drop bursts of at most minSpeechLen windows.
	start := 0
	for c := 1; c < nw; c++ {
		if v[c] > 0 && v[c-1] <= 0 {
			start = c
		}
		if v[c] <= 0 && v[c-1] > 0 {
			if c-start <= minSpeechLen {
				for i := start; i < c; i++ {
					v[i] = -v[i]
				}
			}
		}
	}
	// With a high SNR, also drop weak bursts.
	if sig >= noise*1000 {
		for c := 1; c < nw; c++ {
			if v[c] > 0 && v[c-1] <= 0 {
				start = c
			}
			if v[c] <= 0 && v[c-1] > 0 {
				var g float32
				for i := start; i < c; i++ {
					g += v[i]
				}
				if g < 3*thresh*float32(c-start) {
					for i := start; i < c; i++ {
						v[i] = -v[i]
					}
				}
			}
		}
	}
	// Join bursts separated by short gaps.
	start, finish := 0, 0
	for c := 1; c < nw; c++ {
		if v[c] > 0 && v[c-1] <= 0 {
			start = c
			if finish > 0 && start-finish <= joinSpeechLen {
				for i := finish; i < start; i++ {
					v[i] = levelMin
				}
			}
		}
		if v[c] <= 0 && v[c-1] > 0 {
			finish = c
		}
	}
	// No speech onset at all: treat everything as speech.
	start = 0
	for c := 1; c < nw; c++ {
		if v[c] > 0 && v[c-1] <= 0 {
			start = c
		}
	}
	if start == 0 {
		for c := range v {
			v[c] = float32(math.Abs(float64(v[c])))
		}
		v[0] = -levelMin
		v[nw-1] = -levelMin
	}
	// Ramps at onsets and offsets (the index arithmetic follows the
	// reference exactly).
	c := 3
	for c < nw-2 {
		if v[c] > 0 && v[c-2] <= 0 {
			v[c-2] = v[c] * 0.1
			v[c-1] = v[c] * 0.3
			c++
		}
		if v[c] <= 0 && v[c-1] > 0 {
			v[c] = v[c-1] * 0.3
			v[c+1] = v[c-1] * 0.1
			c += 3
		}
		c++
	}
	for c := range v {
		if v[c] < 0 {
			v[c] = 0
		}
	}
	if thresh <= 0 {
		thresh = levelMin
	}
	lv := make([]float32, nw)
	for c, e := range v {
		if e > thresh {
			lv[c] = float32(math.Log(float64(e / thresh)))
		}
	}
	s.vad, s.logVAD = v, lv
}

// uttInfo is the utterance segmentation and the delays found (positions
// in VAD windows, delays in samples; degraded = reference + delay).
type uttInfo struct {
	n          int
	crudeDelay int
	srchStart  []int
	srchEnd    []int
	delayEst   []int
	delay      []int
	delayConf  []float32
	start, end []int
}

func newUttInfo(size int) *uttInfo {
	return &uttInfo{
		srchStart: make([]int, size), srchEnd: make([]int, size),
		delayEst: make([]int, size), delay: make([]int, size),
		delayConf: make([]float32, size),
		start:     make([]int, size), end: make([]int, size),
	}
}

// envelopeLag cross-correlates the log-VAD envelopes ref[startr:startr+nr]
// and deg[startd:startd+nd] and returns the best lag in samples.
func (p *params) envelopeLag(ref, deg *signal, startr, nr, startd, nd int) int {
	imax := nr - 1
	if nr > 1 && nd > 1 {
		x1 := ref.logVAD[startr : startr+nr]
		x2 := deg.logVAD[startd : startd+nd]
		nx := nextPow2(max(nr, nd))
		f := getFFT(2 * nx)
		defer putFFT(f)
		a := make([]float64, 2*nx)
		for i := 0; i < nr; i++ {
			a[nr-1-i] = float64(x1[i])
		}
		c1 := append([]complex128(nil), f.forward64(a)...)
		c2 := f.forward(x2)
		for i := range c1 {
			c1[i] *= c2[i]
		}
		y := f.inverse(c1)
		var best float32
		for i := 0; i < nr+nd-1; i++ {
			if v := float32(y[i]); v > best {
				best = v
				imax = i
			}
		}
	}
	return (imax - nr + 1) * p.ds
}

// crudeAlignWhole estimates the overall delay from the whole envelopes.
func (p *params) crudeAlignWhole(ref, deg *signal) int {
	return p.envelopeLag(ref, deg, 0, ref.n/p.ds, 0, deg.n/p.ds)
}

// crudeAlignRange refines delayEst on the reference windows
// [srchStart, srchEnd).
func (p *params) crudeAlignRange(ref, deg *signal, srchStart, srchEnd, delayEst int) int {
	startr := srchStart
	startd := startr + delayEst/p.ds
	if startd < 0 {
		startr = -delayEst / p.ds
		startd = 0
	}
	nr := srchEnd - startr
	nd := nr
	if startd+nd > deg.n/p.ds {
		nd = deg.n/p.ds - startd
	}
	return p.envelopeLag(ref, deg, startr, nr, startd, nd) + delayEst
}

// aligner accumulates histograms of per-frame delays (fine alignment by
// the peaks of short-time cross-correlations).
type aligner struct {
	p       *params
	f       *realFFT
	win     []float32
	x       []float32
	prod    []complex128
	cc      []float32
	refSpec map[int][]complex128 // spectra of windowed reference frames by start
}

func newAligner(p *params) *aligner {
	n := p.alignNfft
	return &aligner{p: p, f: getFFT(n), win: hann(n), x: make([]float32, n),
		prod: make([]complex128, n/2+1), cc: make([]float32, n), refSpec: map[int][]complex128{}}
}

func (a *aligner) release() { putFFT(a.f) }

// frameXCorr returns |cross-correlation| of the windowed frames at startr
// and startd (index = lag of degraded) and 0.99 times its maximum.
func (a *aligner) frameXCorr(ref, deg *signal, startr, startd int) ([]float32, float32) {
	n := a.p.alignNfft
	c1, ok := a.refSpec[startr]
	if !ok {
		a.window(ref.data, startr)
		c1 = append([]complex128(nil), a.f.forward(a.x)...)
		a.refSpec[startr] = c1
	}
	a.window(deg.data, startd)
	c2 := a.f.forward(a.x)
	for i := range c1 {
		r1, i1 := real(c1[i]), -imag(c1[i])
		a.prod[i] = complex(r1*real(c2[i])-i1*imag(c2[i]), r1*imag(c2[i])+i1*real(c2[i]))
	}
	y := a.f.inverse(a.prod)
	var vmax float32
	for i := 0; i < n; i++ {
		r := float32(math.Abs(y[i]))
		a.cc[i] = r
		if r > vmax {
			vmax = r
		}
	}
	return a.cc, vmax * 0.99
}

// window loads the Hann-windowed frame of x at start into a.x; samples
// outside x (possible only for pathological delays) read as zero.
func (a *aligner) window(x []float32, start int) {
	n := a.p.alignNfft
	if start >= 0 && start+n <= len(x) {
		for i, v := range x[start : start+n] {
			a.x[i] = v * a.win[i]
		}
		return
	}
	for i := 0; i < n; i++ {
		a.x[i] = 0
		if j := start + i; j >= 0 && j < len(x) {
			a.x[i] = x[j] * a.win[i]
		}
	}
}

// timeAlign refines the delay of utterance search window id.
func (p *params) timeAlign(a *aligner, ref, deg *signal, u *uttInfo, id int) {
	n := p.alignNfft
	est := u.delayEst[id]
	h := make([]float32, n)
	startr := u.srchStart[id] * p.ds
	startd := startr + est
	if startd < 0 {
		startr = -est
		startd = 0
	}
	for startd+n <= deg.n && startr+n <= u.srchEnd[id]*p.ds {
		cc, vmax := a.frameXCorr(ref, deg, startr, startd)
		w := float32(math.Pow(float64(vmax), 0.125))
		for i := 0; i < n; i++ {
			if cc[i] > vmax {
				h[i] += w
			}
		}
		startr += n / 4
		startd += n / 4
	}
	var hsum float32
	for _, v := range h {
		hsum += v
	}
	// Smooth circularly with a triangular kernel.
	k := n / 64
	sm := make([]float64, n)
	for i := 0; i < n; i++ {
		if h[i] == 0 {
			continue
		}
		hv := float64(h[i])
		sm[i] += hv
		for j := 1; j < k; j++ {
			w := 1 - float64(float32(j)/float32(k))
			sm[(i+j)%n] += hv * w
			sm[(i-j+n)%n] += hv * w
		}
	}
	var vmax float32
	imax := 0
	for i := 0; i < n; i++ {
		var v float32
		if hsum > 0 {
			v = float32(math.Abs(sm[i])) / hsum
		}
		if v > vmax {
			vmax = v
			imax = i
		}
	}
	if imax >= n/2 {
		imax -= n
	}
	u.delay[id] = est + imax
	u.delayConf[id] = vmax
}

// speechSegments scans the reference VAD (downsampled by p.ds) for speech
// segments and calls seg(num, start, end) for each, where start is its first
// frame, end the frame that closes it (the first silent frame, or the last
// frame of the signal) and num the number of earlier segments that are long
// enough and lie within the degraded signal at the crude delay. It returns
// the number of such segments.
func (p *params) speechSegments(ref, deg *signal, u *uttInfo, seg func(num, start, end int)) int {
	vl := ref.n / p.ds
	delStart := minUttLen - u.crudeDelay/p.ds
	delEnd := (deg.n-u.crudeDelay)/p.ds - minUttLen
	num := 0
	speech := false
	thisStart := 0
	for c := 0; c < vl; c++ {
		v := ref.vad[c]
		if v > 0 && !speech {
			speech = true
			thisStart = c
		}
		if (v == 0 || c == vl-1) && speech {
			speech = false
			seg(num, thisStart, c)
			if c-thisStart >= minUttLen && thisStart < delEnd && c > delStart {
				num++
			}
		}
	}
	return num
}

// idSearchWindows finds the reference speech segments (with margins)
// that are long enough and lie within the degraded signal.
func (p *params) idSearchWindows(ref, deg *signal, u *uttInfo) {
	vl := ref.n / p.ds
	u.n = p.speechSegments(ref, deg, u, func(num, start, end int) {
		u.srchStart[num] = max(start-searchBuffer, 0)
		u.srchEnd[num] = min(end+searchBuffer, vl-1)
	})
}

// idUtterances sets utterance boundaries between the detected segments,
// clipped so that the delayed segments stay inside the degraded signal.
func (p *params) idUtterances(ref, deg *signal, u *uttInfo) {
	vl := ref.n / p.ds
	p.speechSegments(ref, deg, u, func(num, start, end int) {
		u.start[num], u.end[num] = start, end
	})
	nu := u.n
	u.start[0] = searchBuffer
	u.end[nu-1] = vl - searchBuffer
	for i := 1; i < nu; i++ {
		mid := (u.start[i] + u.end[i-1]) / 2
		u.start[i] = mid
		u.end[i-1] = mid
	}
	if u.start[0]*p.ds+u.delay[0] < p.sb {
		u.start[0] = searchBuffer + (p.ds-1-u.delay[0])/p.ds
	}
	if u.end[nu-1]*p.ds+u.delay[nu-1] > deg.n-p.sb {
		u.end[nu-1] = (deg.n-u.delay[nu-1])/p.ds - searchBuffer
	}
	for i := 1; i < nu; i++ {
		thisStart := u.start[i]*p.ds + u.delay[i]
		lastEnd := u.end[i-1]*p.ds + u.delay[i-1]
		if thisStart < lastEnd {
			mid := (thisStart + lastEnd) / 2
			u.start[i] = (p.ds - 1 + mid - u.delay[i]) / p.ds
			u.end[i-1] = (mid - u.delay[i-1]) / p.ds
		}
	}
}

// locateUtterances runs the whole time alignment.
func (p *params) locateUtterances(ref, deg *signal) (*uttInfo, error) {
	u := newUttInfo(ref.n/p.ds + maxUtterances + 2)
	u.crudeDelay = p.crudeAlignWhole(ref, deg)
	p.idSearchWindows(ref, deg, u)
	if u.n < 1 {
		return nil, ErrNoUtterances
	}
	a := newAligner(p)
	defer a.release()
	for id := 0; id < u.n; id++ {
		u.delayEst[id] = p.crudeAlignRange(ref, deg, u.srchStart[id], u.srchEnd[id], u.crudeDelay)
		p.timeAlign(a, ref, deg, u, id)
	}
	p.idUtterances(ref, deg, u)
	p.splitUtterances(a, ref, deg, u)
	return u, nil
}

// splitUtterances tries to split each long utterance where the delay
// changes, keeping a split when both halves align with higher confidence.
func (p *params) splitUtterances(a *aligner, ref, deg *signal, u *uttInfo) {
	id := 0
	for id < u.n && u.n < maxUtterances {
		est := u.delayEst[id]
		conf := u.delayConf[id]
		uStart, uEnd := u.start[id], u.end[id]
		sStart := uStart
		for sStart < uEnd && ref.vad[sStart] <= 0 {
			sStart++
		}
		sEnd := uEnd
		for sEnd > uStart && ref.vad[sEnd] <= 0 {
			sEnd--
		}
		sEnd++
		if sEnd-sStart < 200 {
			id++
			continue
		}
		b := p.splitAlign(a, ref, deg, uStart, sStart, sEnd, uEnd, est, conf)
		if !(b.dc1 > conf && b.dc2 > conf) {
			id++
			continue
		}
		for s := u.n - 1; s > id; s-- {
			u.delayEst[s+1] = u.delayEst[s]
			u.delay[s+1] = u.delay[s]
			u.delayConf[s+1] = u.delayConf[s]
			u.start[s+1] = u.start[s]
			u.end[s+1] = u.end[s]
			u.srchStart[s+1] = u.start[s]
			u.srchEnd[s+1] = u.end[s]
		}
		u.n++
		u.delayEst[id], u.delay[id], u.delayConf[id] = b.ed1, b.d1, b.dc1
		u.delayEst[id+1], u.delay[id+1], u.delayConf[id+1] = b.ed2, b.d2, b.dc2
		u.srchStart[id+1] = u.srchStart[id]
		u.srchEnd[id+1] = u.srchEnd[id]
		u.start[id] = uStart
		u.end[id+1] = uEnd
		if b.d2 < b.d1 {
			u.end[id] = b.bp
			u.start[id+1] = b.bp
		} else {
			u.end[id] = b.bp + (b.d2-b.d1)/(2*p.ds)
			u.start[id+1] = b.bp - (b.d2-b.d1)/(2*p.ds)
		}
		if (u.start[id]-searchBuffer)*p.ds+b.d1 < 0 {
			u.start[id] = searchBuffer + (p.ds-1-b.d1)/p.ds
		}
		if u.end[id+1]*p.ds+b.d2 > deg.n-p.sb {
			u.end[id+1] = (deg.n-b.d2)/p.ds - searchBuffer
		}
	}
}

type splitResult struct {
	ed1, d1 int
	dc1     float32
	ed2, d2 int
	dc2     float32
	bp      int
}

// histAdd adds the peaks of one frame cross-correlation to the histogram
// h, spread with a triangular kernel, and the added mass to *sum.
func histAdd(h, cc []float32, vmax float32, kernel int, sum *float32) {
	n := len(h)
	nmax := float32(math.Pow(float64(vmax), 0.125)) / float32(kernel)
	for i := 0; i < n; i++ {
		if cc[i] > vmax {
			*sum += nmax * float32(kernel)
			for k := 1 - kernel; k < kernel; k++ {
				ak := k
				if ak < 0 {
					ak = -ak
				}
				h[(i+k+n)%n] += nmax * (float32(kernel) - float32(ak))
			}
		}
	}
}

func histPeak(h []float32) (int, float32) {
	n := len(h)
	var vmax float32
	imax := 0
	for i, v := range h {
		if v > vmax {
			vmax = v
			imax = i
		}
	}
	if imax >= n/2 {
		imax -= n
	}
	return imax, vmax
}

// splitAlign evaluates candidate break points in an utterance: the delay
// of the part before and after each one, with their confidences.
func (p *params) splitAlign(a *aligner, ref, deg *signal, uStart, sStart, sEnd, uEnd, est int, conf float32) splitResult {
	var best splitResult
	n := p.alignNfft
	kernel := n / 64
	delta := n / (4 * p.ds)
	uLen := sEnd - sStart
	step := int((0.801*float64(uLen) + float64(40*delta) - 1) / float64(40*delta))
	step *= delta
	pad := max(uLen/10, 75)

	bps := []int{sStart + pad}
	for {
		bps = append(bps, bps[len(bps)-1]+step)
		if !(bps[len(bps)-1] <= sEnd-pad && len(bps)-1 < 40) {
			break
		}
	}
	nbp := len(bps) - 1
	if nbp <= 0 {
		return best
	}
	ed1 := make([]int, nbp)
	ed2 := make([]int, nbp)
	d1 := make([]int, nbp)
	d2 := make([]int, nbp)
	dc1 := make([]float32, nbp)
	dc2 := make([]float32, nbp)
	for bp := 0; bp < nbp; bp++ {
		ed1[bp] = p.crudeAlignRange(ref, deg, uStart, bps[bp], est)
		ed2[bp] = p.crudeAlignRange(ref, deg, bps[bp], uEnd, est)
	}

	h := make([]float32, n)
	// Forward: delays of the parts before each break point. Break points
	// sharing a crude estimate reuse the running histogram.
	for bp := range dc1 {
		dc1[bp] = -2
	}
	for {
		bp := 0
		for bp < nbp && dc1[bp] > -2 {
			bp++
		}
		if bp >= nbp {
			break
		}
		e := ed1[bp]
		for i := range h {
			h[i] = 0
		}
		var hsum float32
		startr := uStart * p.ds
		startd := startr + e
		if startd < 0 {
			startr = -e
			startd = 0
		}
		for {
			for startd+n <= deg.n && startr+n <= bps[bp]*p.ds {
				cc, vmax := a.frameXCorr(ref, deg, startr, startd)
				histAdd(h, cc, vmax, kernel, &hsum)
				startr += n / 4
				startd += n / 4
			}
			im, vm := histPeak(h)
			d1[bp] = e + im
			if hsum > 0 {
				dc1[bp] = vm / hsum
			} else {
				dc1[bp] = 0
			}
			// Continue with the next break point of the same estimate.
			next := -1
			for bp < nbp-1 {
				bp++
				if ed1[bp] == e && dc1[bp] <= -2 {
					next = bp
					break
				}
			}
			if next < 0 {
				break
			}
		}
	}

	for bp := 0; bp < nbp; bp++ {
		if dc1[bp] > conf {
			dc2[bp] = -2
		} else {
			dc2[bp] = 0
		}
	}
	// Backward: delays of the parts after each break point.
	for {
		bp := nbp - 1
		for bp >= 0 && dc2[bp] > -2 {
			bp--
		}
		if bp < 0 {
			break
		}
		e := ed2[bp]
		for i := range h {
			h[i] = 0
		}
		var hsum float32
		startr := uEnd*p.ds - n
		startd := startr + e
		if startd+n > deg.n {
			startd = deg.n - n
			startr = startd - e
		}
		for {
			for startd >= 0 && startr >= bps[bp]*p.ds {
				cc, vmax := a.frameXCorr(ref, deg, startr, startd)
				histAdd(h, cc, vmax, kernel, &hsum)
				startr -= n / 4
				startd -= n / 4
			}
			im, vm := histPeak(h)
			d2[bp] = e + im
			if hsum > 0 {
				dc2[bp] = vm / hsum
			} else {
				dc2[bp] = 0
			}
			next := -1
			for bp > 0 {
				bp--
				if ed2[bp] == e && dc2[bp] <= -2 {
					next = bp
					break
				}
			}
			if next < 0 {
				break
			}
		}
	}

	for bp := 0; bp < nbp; bp++ {
		dd := d2[bp] - d1[bp]
		if dd < 0 {
			dd = -dd
		}
		if dd >= p.ds && dc1[bp]+dc2[bp] > best.dc1+best.dc2 && dc1[bp] > conf && dc2[bp] > conf {
			best = splitResult{ed1: ed1[bp], d1: d1[bp], dc1: dc1[bp], ed2: ed2[bp], d2: d2[bp], dc2: dc2[bp], bp: bps[bp]}
		}
	}
	return best
}
