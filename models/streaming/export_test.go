package streaming

// Test helpers for the external tests (whole_test.go), which compare the stream with the
// whole-signal model that package models opens.
var (
	ForBundles  = forBundles
	Signal      = signal
	OpenBundle  = openBundle
	OpenTiny    = openTiny
	LoadTiny    = loadTiny
	RunStream   = runStream
	Peak        = peak
	CheckFinite = checkFinite
)
