// A minimal LADSPA host for the plugin's tests: it runs one mono plugin over raw float32
// samples from stdin in blocks of exactly BLOCK frames (the last one shorter) and writes
// the output to stdout, then the latency the plugin reported to stderr. A C program,
// because a Go c-shared library cannot be loaded into a Go process.
//
//   host PLUGIN.so LABEL RATE BLOCK [CONTROL...] < in.f32 > out.f32
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../ladspa_abi.h"

// default_value is a control's default, for the hints the plugin uses.
static float default_value(const LADSPA_PortRangeHint *h) {
	switch (h->HintDescriptor & 0x3C0) {
	case LADSPA_HINT_DEFAULT_MINIMUM:
		return h->LowerBound;
	case LADSPA_HINT_DEFAULT_MAXIMUM:
		return h->UpperBound;
	default:
		return 0;
	}
}

int main(int argc, char **argv) {
	if (argc < 5) {
		fprintf(stderr, "usage: host PLUGIN LABEL RATE BLOCK [CONTROL...] < in.f32 > out.f32\n");
		return 2;
	}
	void *lib = dlopen(argv[1], RTLD_NOW);
	if (!lib) {
		fprintf(stderr, "host: %s\n", dlerror());
		return 1;
	}
	const LADSPA_Descriptor *(*descriptor)(unsigned long) = (const LADSPA_Descriptor *(*)(unsigned long))dlsym(lib, "ladspa_descriptor");
	const LADSPA_Descriptor *d = NULL;
	for (unsigned long i = 0; descriptor && (d = descriptor(i)) != NULL; i++) {
		if (strcmp(d->Label, argv[2]) == 0) {
			break;
		}
	}
	if (!d) {
		fprintf(stderr, "host: no plugin %s\n", argv[2]);
		return 1;
	}
	unsigned long rate = strtoul(argv[3], NULL, 10);
	long block = strtol(argv[4], NULL, 10);
	LADSPA_Handle h = d->instantiate(d, rate);
	if (!h) {
		fprintf(stderr, "host: instantiate failed\n");
		return 1;
	}
	float *in = malloc(block * sizeof(float)), *out = malloc(block * sizeof(float));
	float controls[16] = {0}, latency = 0;
	int next = 5, audio_in = 0;
	for (unsigned long p = 0; p < d->PortCount && p < 16; p++) {
		LADSPA_PortDescriptor k = d->PortDescriptors[p];
		if (k & LADSPA_PORT_AUDIO) {
			d->connect_port(h, p, (k & LADSPA_PORT_INPUT) ? in : out);
			audio_in += (k & LADSPA_PORT_INPUT) != 0;
		} else if (k & LADSPA_PORT_OUTPUT) {
			d->connect_port(h, p, &latency);
		} else {
			controls[p] = next < argc ? strtof(argv[next++], NULL) : default_value(&d->PortRangeHints[p]);
			d->connect_port(h, p, &controls[p]);
		}
	}
	if (audio_in != 1) {
		fprintf(stderr, "host: mono plugins only\n");
		return 1;
	}
	if (d->activate) {
		d->activate(h);
	}
	size_t n;
	while ((n = fread(in, sizeof(float), block, stdin)) > 0) {
		d->run(h, n);
		fwrite(out, sizeof(float), n, stdout);
	}
	fprintf(stderr, "latency %.0f\n", latency);
	if (d->deactivate) {
		d->deactivate(h);
	}
	d->cleanup(h);
	return 0;
}
