// The LADSPA side of the plugin: two descriptors (mono, stereo) whose callbacks hand over
// to the Go instance (exports in main.go). Ports, for C channels: audio inputs 0..C-1,
// audio outputs C..2C-1, then the attenuation limit, steps, model and latency controls.
#define _GNU_SOURCE
#include <dlfcn.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>

#include "ladspa_abi.h"
#include "_cgo_export.h"

#define MAX_CHANNELS 2
#define MAX_PORTS (2 * MAX_CHANNELS + 4)

typedef struct {
	uintptr_t go; // the Go instance's handle
	int channels;
	LADSPA_Data *ports[MAX_PORTS];
} rg_instance;

static LADSPA_Descriptor descriptors[MAX_CHANNELS];
static LADSPA_PortDescriptor port_kinds[MAX_CHANNELS][MAX_PORTS];
static const char *port_names[MAX_CHANNELS][MAX_PORTS];
static LADSPA_PortRangeHint port_hints[MAX_CHANNELS][MAX_PORTS];
static pthread_once_t once = PTHREAD_ONCE_INIT;

static const char *const audio_names[MAX_CHANNELS][2][MAX_CHANNELS] = {
	{{"Input"}, {"Output"}},
	{{"Input L", "Input R"}, {"Output L", "Output R"}},
};

// Every callback takes what hosts really pass: ffmpeg calls cleanup on the NULL a failed
// instantiate returned, hosts connect ports before or after activate (or never), run 0
// frames, activate twice or call deactivate. A NULL handle is a no-op everywhere.

static LADSPA_Handle instantiate(const LADSPA_Descriptor *d, unsigned long rate) {
	if (d == NULL || d < descriptors || d >= descriptors + MAX_CHANNELS) {
		return NULL;
	}
	int channels = (int)(d - descriptors) + 1;
	uintptr_t h = rgInstantiate(channels, rate);
	if (h == 0) {
		return NULL;
	}
	rg_instance *in = calloc(1, sizeof *in);
	if (in == NULL) {
		rgCleanup(h);
		return NULL;
	}
	in->go = h;
	in->channels = channels;
	return in;
}

static void connect_port(LADSPA_Handle h, unsigned long port, LADSPA_Data *data) {
	rg_instance *in = h;
	if (in != NULL && port < (unsigned long)(2 * in->channels + 4)) {
		in->ports[port] = data;
	}
}

static void activate(LADSPA_Handle h) {
	if (h != NULL) {
		rgActivate(((rg_instance *)h)->go);
	}
}

// deactivate has nothing to do (activate starts a new stream); it exists for hosts that
// call it without checking for NULL.
static void deactivate(LADSPA_Handle h) { (void)h; }

static void run(LADSPA_Handle h, unsigned long n) {
	rg_instance *in = h;
	if (in == NULL) {
		return;
	}
	rgRun(in->go, n, in->ports);
}

static void cleanup(LADSPA_Handle h) {
	rg_instance *in = h;
	if (in == NULL) {
		return;
	}
	rgCleanup(in->go);
	free(in);
}

static void init_descriptors(void) {
	int models = rgModelCount();
	for (int c = 1; c <= MAX_CHANNELS; c++) {
		LADSPA_Descriptor *d = &descriptors[c - 1];
		LADSPA_PortDescriptor *k = port_kinds[c - 1];
		const char **name = port_names[c - 1];
		LADSPA_PortRangeHint *hint = port_hints[c - 1];
		int p = 0;
		for (int i = 0; i < c; i++, p++) {
			k[p] = LADSPA_PORT_INPUT | LADSPA_PORT_AUDIO;
			name[p] = audio_names[c - 1][0][i];
		}
		for (int i = 0; i < c; i++, p++) {
			k[p] = LADSPA_PORT_OUTPUT | LADSPA_PORT_AUDIO;
			name[p] = audio_names[c - 1][1][i];
		}
		k[p] = LADSPA_PORT_INPUT | LADSPA_PORT_CONTROL;
		name[p] = "Attenuation limit (dB)";
		hint[p] = (LADSPA_PortRangeHint){LADSPA_HINT_BOUNDED_BELOW | LADSPA_HINT_BOUNDED_ABOVE | LADSPA_HINT_DEFAULT_MAXIMUM, 0, 100};
		p++;
		k[p] = LADSPA_PORT_INPUT | LADSPA_PORT_CONTROL;
		name[p] = "Steps";
		hint[p] = (LADSPA_PortRangeHint){LADSPA_HINT_BOUNDED_BELOW | LADSPA_HINT_BOUNDED_ABOVE | LADSPA_HINT_INTEGER | LADSPA_HINT_DEFAULT_0, 0, rgMaxSteps()};
		p++;
		k[p] = LADSPA_PORT_INPUT | LADSPA_PORT_CONTROL;
		name[p] = "Model";
		hint[p] = (LADSPA_PortRangeHint){LADSPA_HINT_BOUNDED_BELOW | LADSPA_HINT_BOUNDED_ABOVE | LADSPA_HINT_INTEGER | LADSPA_HINT_DEFAULT_MINIMUM, 0, models > 0 ? models - 1 : 0};
		p++;
		k[p] = LADSPA_PORT_OUTPUT | LADSPA_PORT_CONTROL;
		name[p] = "latency"; // the name sox (-l) and Ardour look for
		// A default, so that sox without -l, which takes every control port for an input,
		// needs no argument for it.
		hint[p] = (LADSPA_PortRangeHint){LADSPA_HINT_DEFAULT_0, 0, 0};
		p++;

		d->UniqueID = c == 1 ? 4752101 : 4752102;
		d->Label = c == 1 ? "restoregrad_mono" : "restoregrad_stereo";
		d->Properties = 0;
		d->Name = c == 1 ? "RestoreGrad speech denoiser (mono)" : "RestoreGrad speech denoiser (stereo)";
		d->Maker = "restoregrad";
		d->Copyright = "None";
		d->PortCount = p;
		d->PortDescriptors = k;
		d->PortNames = name;
		d->PortRangeHints = hint;
		d->instantiate = instantiate;
		d->connect_port = connect_port;
		d->activate = activate;
		d->run = run;
		d->deactivate = deactivate;
		d->cleanup = cleanup;
	}
}

const LADSPA_Descriptor *ladspa_descriptor(unsigned long index) {
	pthread_once(&once, init_descriptors);
	return index < MAX_CHANNELS ? &descriptors[index] : NULL;
}

// rg_self_path is the file this code was loaded from (the plugin), or NULL.
const char *rg_self_path(void) {
	Dl_info info;
	if (dladdr((void *)ladspa_descriptor, &info) == 0) {
		return NULL;
	}
	return info.dli_fname;
}
