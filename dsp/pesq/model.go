package pesq

import "math"

const (
	silence5Samples  = 500.0 // |x| summed over 5 samples below this is silence
	zwickerPower     = 0.23
	badFrameThresh   = 30
	smearRange       = 2
	minBadFrames     = 5
	maxBadIntervals  = 1000
	searchRangeNf    = 4 // bad-interval delay search, in frames
	framesPerSyll    = 20
	dPowF, dPowS     = 2, 6
	dPowT            = 2
	aPowF, aPowS     = 1, 6
	aPowT            = 2
	dWeight, aWeight = 0.1, 0.0309
)

// perceptual holds the per-run state of the perceptual model.
type perceptual struct {
	p      *params
	b      *barkTable
	nf     int
	win    []float32
	fft    *realFFT
	buf    []float32
	hz     []float32
	loudR  []float32
	loudD  []float32
	dist   []float32
	ppdRef []float32 // pitch power densities, frame-major
	ppdDeg []float32
}

// bandPower computes the Bark power densities of the frame of x at start
// into out (zeros when the frame is out of range, handled by the caller).
func (m *perceptual) bandPower(x []float32, start int, out []float32) {
	for i := 0; i < m.nf; i++ {
		m.buf[i] = x[start+i] * m.win[i]
	}
	c := m.fft.forward(m.buf)
	for k := 0; k < m.nf/2; k++ {
		re, im := float32(real(c[k])), float32(imag(c[k]))
		m.hz[k] = re*re + im*im
	}
	m.hz[0] = 0
	m.warp(out)
}

// warp sums the power spectrum m.hz into Bark bands.
func (m *perceptual) warp(out []float32) {
	k := 0
	for band := 0; band < m.b.nb; band++ {
		var sum float64
		for i := 0; i < m.b.hzPerBand[band]; i++ {
			sum += float64(m.hz[k])
			k++
		}
		sum *= m.b.powCorr[band]
		sum *= float64(m.b.sp)
		out[band] = float32(sum)
	}
}

// totalAudible sums the bands (except the first) above factor times the
// hearing threshold.
func (m *perceptual) totalAudible(ppd []float32, factor float64) float32 {
	var r float64
	for band := 1; band < m.b.nb; band++ {
		h := ppd[band]
		if h > float32(factor*m.b.absThresh[band]) {
			r += float64(h)
		}
	}
	return float32(r)
}

// loudness applies Zwicker's law to one frame of power densities.
func (m *perceptual) loudness(ppd, out []float32) {
	for band := 0; band < m.b.nb; band++ {
		th := float32(m.b.absThresh[band])
		in := ppd[band]
		var h float32 = 1
		if m.b.centreBark[band] < 4 {
			h = 6 / (float32(m.b.centreBark[band]) + 2)
		}
		if h > 2 {
			h = 2
		}
		h = float32(math.Pow(float64(h), float64(float32(0.15))))
		zp := zwickerPower * float64(h)
		if in > th {
			out[band] = float32(math.Pow(float64(th)/0.5, zp) * (math.Pow(0.5+0.5*float64(in)/float64(th), zp) - 1))
		} else {
			out[band] = 0
		}
		out[band] *= m.b.sl
	}
}

// pseudoLp is the Bark-width weighted Lp norm over bands 1..nb-1.
func (m *perceptual) pseudoLp(x []float32, pw float64) float32 {
	var tw, r float64
	for band := 1; band < m.b.nb; band++ {
		h := float32(math.Abs(float64(x[band])))
		w := float32(m.b.widthBark[band])
		r += math.Pow(float64(h*w), pw)
		tw += float64(w)
	}
	r /= tw
	r = math.Pow(r, 1/pw)
	r *= tw
	return float32(r)
}

// disturbance computes the symmetric and asymmetric frame disturbances of
// one frame, scaling the degraded densities by the (smoothed) gain ratio.
func (m *perceptual) disturbance(ref, deg []float32, oldScale *float32, first bool) (d, da, totalRef float32) {
	nb := m.b.nb
	tr := m.totalAudible(ref, 1)
	td := m.totalAudible(deg, 1)
	scale := (tr + 5e3) / (td + 5e3)
	if !first {
		scale = 0.2**oldScale + 0.8*scale
	}
	*oldScale = scale
	if scale > 5 {
		scale = 5
	}
	if scale < 3e-4 {
		scale = 3e-4
	}
	for band := 0; band < nb; band++ {
		deg[band] *= scale
	}
	m.loudness(ref, m.loudR)
	m.loudness(deg, m.loudD)
	for band := 0; band < nb; band++ {
		dd := m.loudD[band] - m.loudR[band]
		dz := min(m.loudD[band], m.loudR[band]) * 0.25
		switch {
		case dd > dz:
			dd -= dz
		case dd < -dz:
			dd += dz
		default:
			dd = 0
		}
		m.dist[band] = dd
	}
	d = m.pseudoLp(m.dist, dPowF)
	for band := 0; band < nb; band++ {
		ratio := (deg[band] + 50) / (ref[band] + 50)
		h := float32(math.Pow(float64(ratio), float64(float32(1.2))))
		if h > 12 {
			h = 12
		}
		if h < 3 {
			h = 0
		}
		m.dist[band] *= h
	}
	da = m.pseudoLp(m.dist, aPowF)
	return d, da, tr
}

// delayAt is the delay of the utterance containing reference sample i.
func (u *uttInfo) delayAt(i, ds int) int {
	k := u.n - 1
	for k >= 0 && u.start[k]*ds > i {
		k--
	}
	if k >= 0 {
		return u.delay[k]
	}
	return u.delay[0]
}

// model runs the perceptual model on the aligned signals and returns the
// raw PESQ score.
func (p *params) model(ref, deg *signal, u *uttInfo, maxN int) (float32, error) {
	b := p.bark
	nb := b.nb
	nf := p.ds * 8
	half := nf / 2
	fft := getFFT(nf)
	defer putFFT(fft)
	m := &perceptual{p: p, b: b, nf: nf, win: hann(nf), fft: fft,
		buf: make([]float32, nf), hz: make([]float32, nf/2),
		loudR: make([]float32, nb), loudD: make([]float32, nb), dist: make([]float32, nb)}

	// Skip leading and trailing silence of the reference.
	skipStart := 0
	for {
		var s float32
		for i := 0; i < 5; i++ {
			s += float32(math.Abs(float64(ref.data[p.sb+skipStart+i])))
		}
		if s < silence5Samples {
			skipStart++
		}
		if !(s < silence5Samples && skipStart < maxN/2) {
			break
		}
	}
	skipEnd := 0
	for {
		var s float32
		for i := 0; i < 5; i++ {
			s += float32(math.Abs(float64(ref.data[maxN-p.sb+p.pad-1-skipEnd-i])))
		}
		if s < silence5Samples {
			skipEnd++
		}
		if !(s < silence5Samples && skipEnd < maxN/2) {
			break
		}
	}
	startFrame := skipStart / half
	stopFrame := (maxN-2*p.sb+p.pad-skipEnd)/half - 1
	if stopFrame < startFrame || stopFrame < 0 {
		return 0, ErrNoUtterances
	}
	nFrames := stopFrame + 1

	m.ppdRef = make([]float32, nFrames*nb)
	m.ppdDeg = make([]float32, nFrames*nb)
	silent := make([]bool, nFrames)
	for f := 0; f < nFrames; f++ {
		sr := p.sb + f*half
		sd := sr + u.delayAt(sr, p.ds)
		pr := m.ppdRef[f*nb : (f+1)*nb]
		pd := m.ppdDeg[f*nb : (f+1)*nb]
		m.bandPower(ref.data, sr, pr)
		if sd > 0 && sd+nf < maxN+p.pad {
			m.bandPower(deg.data, sd, pd)
		} else {
			for i := range m.hz {
				m.hz[i] = 0
			}
			m.warp(pd)
		}
		silent[f] = m.totalAudible(pr, 1e2) < 1e7
	}

	// Frequency response compensation of the reference.
	total := (maxN-2*p.sb+p.pad)/half - 1
	avg := func(ppd []float32) []float32 {
		out := make([]float32, nb)
		for band := 0; band < nb; band++ {
			var r float64
			for f := 0; f < nFrames; f++ {
				if !silent[f] {
					h := ppd[f*nb+band]
					if float64(h) > 100*b.absThresh[band] {
						r += float64(h)
					}
				}
			}
			out[band] = float32(r / float64(total))
		}
		return out
	}
	avgRef, avgDeg := avg(m.ppdRef), avg(m.ppdDeg)
	for band := 0; band < nb; band++ {
		x := (avgDeg[band] + 1000) / (avgRef[band] + 1000)
		x = min(max(x, 0.01), 100)
		for f := 0; f < nFrames; f++ {
			m.ppdRef[f*nb+band] *= x
		}
	}

	dist := make([]float32, nFrames)
	distA := make([]float32, nFrames)
	totalRef := make([]float32, nFrames)
	badFrame := false
	var old float32 = 1
	for f := 0; f < nFrames; f++ {
		dist[f], distA[f], totalRef[f] = m.disturbance(m.ppdRef[f*nb:(f+1)*nb], m.ppdDeg[f*nb:(f+1)*nb], &old, f == 0)
		if dist[f] > badFrameThresh {
			badFrame = true
		}
	}

	// Frames over a large negative delay jump are not scored.
	for k := 1; k < u.n; k++ {
		f1 := ((u.start[k]-searchBuffer)*p.ds + u.delay[k]) / half
		j := ((u.end[k-1]-searchBuffer)*p.ds + u.delay[k-1]) / half
		jump := u.delay[k] - u.delay[k-1]
		f1 = max(min(f1, j), 0)
		if jump < -half {
			aj := jump
			if aj < 0 {
				aj = -aj
			}
			f2 := ((u.start[k]-searchBuffer)*p.ds+max(0, aj))/half + 1
			for f := f1; f <= f2; f++ {
				if f < stopFrame {
					dist[f] = 0
					distA[f] = 0
				}
			}
		}
	}

	if badFrame {
		p.realignBadIntervals(m, ref, deg, u, maxN, dist, distA, stopFrame)
	}

	// Aggregate over time.
	tw := make([]float32, nFrames)
	for f := range tw {
		var h float32 = 1
		if stopFrame+1 > 1000 {
			n := (maxN-2*p.sb)/half - 1
			twf := float64((float32(n) - 1000) / 5500)
			if twf > 0.5 {
				twf = 0.5
			}
			h = float32((1 - twf) + twf*float64(f)/float64(n))
		}
		tw[f] = h
	}
	for f := 0; f < nFrames; f++ {
		h := float32(math.Pow((float64(totalRef[f])+1e5)/1e7, 0.04))
		dist[f] /= h
		distA[f] /= h
		dist[f] = min(dist[f], 45)
		distA[f] = min(distA[f], 45)
	}
	d := lpqWeight(startFrame, stopFrame, dPowS, dPowT, dist, tw)
	a := lpqWeight(startFrame, stopFrame, aPowS, aPowT, distA, tw)
	return float32(4.5 - dWeight*float64(d) - aWeight*float64(a)), nil
}

// realignBadIntervals re-estimates the delay inside runs of badly
// disturbed frames and keeps the lower disturbance.
func (p *params) realignBadIntervals(m *perceptual, ref, deg *signal, u *uttInfo, maxN int, dist, distA []float32, stopFrame int) {
	nb := m.b.nb
	nf := m.nf
	half := nf / 2
	nFrames := stopFrame + 1

	// Degraded signal with the utterance delays applied.
	nn := p.pad + maxN
	tweaked := make([]float32, nn)
	for i := p.sb; i < nn-p.sb; i++ {
		j := i + u.delayAt(i, p.ds)
		j = min(max(j, p.sb), nn-p.sb-1)
		tweaked[i] = deg.data[j]
	}

	bad := make([]bool, nFrames)
	for f := range bad {
		bad[f] = dist[f] > badFrameThresh
	}
	bad[0] = false
	smeared := make([]bool, nFrames)
	for f := smearRange; f < stopFrame-smearRange; f++ {
		left, right := bad[f], bad[f]
		for i := -smearRange; i <= 0; i++ {
			left = left || bad[f+i]
		}
		for i := 0; i <= smearRange; i++ {
			right = right || bad[f+i]
		}
		smeared[f] = left && right
	}

	type interval struct{ f0, f1, s0, s1, delay int }
	var ivs []interval
	f := 0
	for f <= stopFrame {
		for f <= stopFrame && !smeared[f] {
			f++
		}
		if f <= stopFrame {
			start := f
			for f <= stopFrame && smeared[f] {
				f++
			}
			if f <= stopFrame && f-start >= minBadFrames && len(ivs) < maxBadIntervals {
				ivs = append(ivs, interval{f0: start, f1: f})
			}
		}
	}
	if len(ivs) == 0 {
		return
	}
	sr := searchRangeNf * nf
	for k := range ivs {
		iv := &ivs[k]
		iv.s0 = iv.f0*half + p.sb
		iv.s1 = iv.f1*half + nf + p.sb
		iv.f1 = min(iv.f1, stopFrame)
		ns := iv.s1 - iv.s0
		r := make([]float32, 2*sr+ns)
		d := make([]float32, 2*sr+ns)
		copy(r[sr:], ref.data[iv.s0:iv.s0+ns])
		lim := maxN - p.sb + p.pad
		for i := range d {
			j := iv.s0 - sr + i
			j = min(max(j, p.sb), lim-1)
			d[i] = tweaked[j]
		}
		delay, corr := computeDelay(r, d, sr)
		if corr < 0.5 {
			delay = 0
		}
		iv.delay = delay
	}

	dbl := append([]float32(nil), tweaked[:maxN+p.pad]...)
	for _, iv := range ivs {
		for i := iv.s0; i < iv.s1; i++ {
			j := min(max(i+iv.delay, 0), maxN-1)
			dbl[i] = tweaked[j]
		}
	}
	for _, iv := range ivs {
		for f := iv.f0; f < iv.f1; f++ {
			s := p.sb + f*half
			m.bandPower(dbl, s, m.ppdDeg[f*nb:(f+1)*nb])
		}
		var old float32 = 1
		for f := iv.f0; f < iv.f1; f++ {
			d, da, _ := m.disturbance(m.ppdRef[f*nb:(f+1)*nb], m.ppdDeg[f*nb:(f+1)*nb], &old, f == 0)
			dist[f] = min(dist[f], d)
			distA[f] = min(distA[f], da)
		}
	}
}

// computeDelay finds the lag (within ±searchRange) of the largest
// normalised cross-correlation of |x1| and |x2|.
func computeDelay(x1, x2 []float32, searchRange int) (int, float32) {
	n := len(x1)
	n2 := nextPow2(2 * n)
	p1 := powerOf(x1, 0, n, n) * float64(n) / float64(n2)
	p2 := powerOf(x2, 0, n, n) * float64(n) / float64(n2)
	norm := math.Sqrt(p1 * p2)
	if p1 <= 1e-6 || p2 <= 1e-6 {
		return 0, 0
	}
	f := getFFT(n2)
	defer putFFT(f)
	a := make([]float32, n)
	for i := range a {
		a[i] = float32(math.Abs(float64(x1[i])))
	}
	c1 := append([]complex128(nil), f.forward(a)...)
	for i := range a {
		a[i] = float32(math.Abs(float64(x2[i])))
	}
	c2 := f.forward(a)
	s := 1 / float64(n2)
	for i := range c1 {
		c1[i] = complex(real(c1[i])*s, -imag(c1[i])*s) * c2[i]
	}
	y := f.inverse(c1)
	best := 0
	var maxCorr float32
	for i := -searchRange; i <= -1; i++ {
		h := float64(float32(math.Abs(y[i+n2]))) / norm
		if h > float64(maxCorr) {
			maxCorr = float32(h)
			best = i
		}
	}
	for i := 0; i < searchRange; i++ {
		h := float64(float32(math.Abs(y[i]))) / norm
		if h > float64(maxCorr) {
			maxCorr = float32(h)
			best = i
		}
	}
	return best, maxCorr
}

// lpqWeight aggregates frame disturbances: an Lp norm over overlapping
// "syllables" of 20 frames, then a time-weighted Lq norm over them.
func lpqWeight(start, stop int, pSyl, pTime float64, x, tw []float32) float32 {
	var rt, twt float64
	for s := start; s <= stop; s += framesPerSyll / 2 {
		var rs float64
		cnt := 0
		for f := s; f < s+framesPerSyll; f++ {
			if f <= stop {
				rs += math.Pow(float64(x[f]), pSyl)
			}
			cnt++
		}
		rs /= float64(cnt)
		rs = math.Pow(rs, 1/pSyl)
		rt += math.Pow(float64(tw[s-start])*rs, pTime)
		twt += math.Pow(float64(tw[s-start]), pTime)
	}
	rt /= twt
	rt = math.Pow(rt, float64(float32(1)/float32(pTime)))
	return float32(rt)
}
