// A LADSPA host that calls the plugin the way real hosts do, not only the way the spec
// recommends: cleanup on the NULL of a failed instantiate (ffmpeg), callbacks on a NULL
// handle, run before any port is connected or with only some connected, 0-frame blocks,
// ports connected after activate, the same buffer for input and output, activate twice,
// deactivate, and a second stream after deactivate. It exits 0 when the plugin survived
// all of it and its outputs were what they should be.
//
//   abuse PLUGIN.so   prints "instantiated" or "not instantiated" (no ONNX Runtime) per label
#include <dlfcn.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../ladspa_abi.h"

#define FRAMES 4800

static int failures;

static void check(int ok, const char *label, const char *what) {
	if (!ok) {
		fprintf(stderr, "abuse: %s: %s\n", label, what);
		failures++;
	}
}

// finite_and_bounded says whether all n samples are finite and within ±4.
static int finite_and_bounded(const float *x, int n) {
	for (int i = 0; i < n; i++) {
		if (!isfinite(x[i]) || fabsf(x[i]) > 4) {
			return 0;
		}
	}
	return 1;
}

static void abuse(const LADSPA_Descriptor *d) {
	// What a host does after a failed instantiate, and NULL handles everywhere.
	check(d->instantiate(d, 0) == NULL, d->Label, "instantiate at 0 Hz succeeded");
	d->cleanup(NULL);
	d->connect_port(NULL, 0, NULL);
	if (d->activate) {
		d->activate(NULL);
	}
	d->run(NULL, 64);
	if (d->deactivate) {
		d->deactivate(NULL);
	}

	LADSPA_Handle h = d->instantiate(d, 48000);
	if (h == NULL) {
		printf("%s: not instantiated\n", d->Label);
		d->cleanup(h); // ffmpeg does this
		return;
	}
	printf("%s: instantiated\n", d->Label);
	int ch = 0;
	for (unsigned long p = 0; p < d->PortCount; p++) {
		LADSPA_PortDescriptor k = d->PortDescriptors[p];
		ch += (k & LADSPA_PORT_AUDIO) && (k & LADSPA_PORT_INPUT);
	}
	static float in[2][FRAMES], out[2][FRAMES];
	float latency = -1, controls[16];
	for (int c = 0; c < ch; c++) {
		for (int i = 0; i < FRAMES; i++) {
			in[c][i] = 0.1f * sinf(0.05f * i + c);
		}
	}

	// Nothing connected yet: run must not touch anything.
	d->run(h, 0);
	d->run(h, 256);
	// Only the outputs connected: they are silence.
	for (int c = 0; c < ch; c++) {
		for (int i = 0; i < 256; i++) {
			out[c][i] = 7;
		}
		d->connect_port(h, ch + c, out[c]);
	}
	d->run(h, 256);
	for (int c = 0; c < ch; c++) {
		int zero = 1;
		for (int i = 0; i < 256; i++) {
			zero &= out[c][i] == 0;
		}
		check(zero, d->Label, "outputs not silent while the inputs are unconnected");
	}
	// A port number beyond the plugin's.
	d->connect_port(h, d->PortCount + 3, &latency);

	// activate before the other ports are connected, then connect them.
	if (d->activate) {
		d->activate(h);
	}
	for (unsigned long p = 0; p < d->PortCount; p++) {
		LADSPA_PortDescriptor k = d->PortDescriptors[p];
		if (k & LADSPA_PORT_AUDIO) {
			int c = (int)p % ch;
			d->connect_port(h, p, (k & LADSPA_PORT_INPUT) ? in[c] : out[c]);
		} else if (k & LADSPA_PORT_OUTPUT) {
			d->connect_port(h, p, &latency);
		} else {
			controls[p] = d->PortRangeHints[p].UpperBound; // limit 100, steps 8, last model
			d->connect_port(h, p, &controls[p]);
		}
	}
	d->run(h, 0);
	check(latency >= 0, d->Label, "no latency after a 0-frame run");
	d->run(h, 1);
	d->run(h, 480);
	check(finite_and_bounded(out[0], 480), d->Label, "output not finite");

	// In place: the input buffer is the output buffer.
	for (int c = 0; c < ch; c++) {
		d->connect_port(h, ch + c, in[c]);
	}
	d->run(h, FRAMES);
	check(finite_and_bounded(in[0], FRAMES), d->Label, "in-place output not finite");

	// A second stream: deactivate, activate twice, out-of-range controls, run again.
	if (d->deactivate) {
		d->deactivate(h);
	}
	if (d->activate) {
		d->activate(h);
		d->activate(h);
	}
	for (unsigned long p = 0; p < d->PortCount; p++) {
		LADSPA_PortDescriptor k = d->PortDescriptors[p];
		if ((k & LADSPA_PORT_CONTROL) && (k & LADSPA_PORT_INPUT)) {
			controls[p] = p % 2 ? -1e9f : NAN;
		}
	}
	for (int c = 0; c < ch; c++) {
		d->connect_port(h, ch + c, out[c]);
	}
	d->run(h, 0);
	d->run(h, FRAMES);
	check(finite_and_bounded(out[0], FRAMES), d->Label, "output after reactivation not finite");
	if (d->deactivate) {
		d->deactivate(h);
	}
	d->cleanup(h);
}

int main(int argc, char **argv) {
	if (argc != 2) {
		fprintf(stderr, "usage: abuse PLUGIN.so\n");
		return 2;
	}
	void *lib = dlopen(argv[1], RTLD_NOW);
	if (!lib) {
		fprintf(stderr, "abuse: %s\n", dlerror());
		return 1;
	}
	const LADSPA_Descriptor *(*descriptor)(unsigned long) = (const LADSPA_Descriptor *(*)(unsigned long))dlsym(lib, "ladspa_descriptor");
	if (!descriptor) {
		fprintf(stderr, "abuse: no ladspa_descriptor\n");
		return 1;
	}
	const LADSPA_Descriptor *d;
	unsigned long i;
	for (i = 0; (d = descriptor(i)) != NULL; i++) {
		abuse(d);
	}
	check(i == 2, "ladspa_descriptor", "not two labels");
	check(descriptor(1000) == NULL, "ladspa_descriptor", "index 1000 not NULL");
	return failures ? 1 : 0;
}
