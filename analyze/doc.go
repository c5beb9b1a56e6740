// Package analyze turns a stream of attempt records into a verdict: was the target stable,
// overloaded (it recovered once the trigger was gone) or metastable (it stayed failed after
// the trigger ended, held down by a sustaining effect such as retries)?
//
// The Analyzer is streaming: it keeps small counters for every window of the run and HDR
// histograms only for a sliding set of recent windows, so its memory depends on the run's
// duration, not on how many attempts it saw. The verdict itself (judge) is a pure function
// of the per-window series, so it can be tested on synthetic series.
//
// The Analyzer is a results.Sink, so it takes a run's attempts from wherever they come: from
// an attack as they complete (capacity's probes, or a Tee with the results file), or from
// recorded files through results.Copy (Files, whose merge of several shards is a
// results.Source). The Report it builds carries the profile's SLO and gate: list, so that its
// consumers (gate, compare) need nothing but the analysis.
package analyze
