// Package analyze turns a stream of attempt records into a verdict: was the target stable,
// overloaded (it recovered once the trigger was gone) or metastable (it stayed failed after
// the trigger ended, held down by a sustaining effect such as retries)?
//
// The Analyzer is streaming: it keeps small counters for every window of the run and HDR
// histograms only for a sliding set of recent windows, so its memory depends on the run's
// duration, not on how many attempts it saw. The verdict itself (judge) is a pure function
// of the per-window series, so it can be tested on synthetic series.
package analyze
