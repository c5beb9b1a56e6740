package analyze

import (
	"fmt"
	"time"

	"github.com/stormtest/stormtest/results"
)

// TriggerReport is one profile trigger on the run's clock.
type TriggerReport struct {
	Name string `json:"name"`
	// StartSeconds and EndSeconds are the window: from when the start call was sent to when
	// the stop call was (or, without a stop call, start + for).
	StartSeconds float64 `json:"start_s"`
	EndSeconds   float64 `json:"end_s"`
	// Scheduled: no call was recorded (a file cut short has no trailer), so the window is
	// the profile's schedule, not what happened.
	Scheduled bool `json:"scheduled"`
	// Failed: the start call failed (no answer, or not 2xx), so the trigger may not have
	// happened and its window is not taken as the trigger.
	Failed bool `json:"failed"`
	// Calls are the calls made for it, as the trailer recorded them.
	Calls []results.TriggerCall `json:"calls"`
}

// analyzedTrigger is a TriggerReport and whether the verdict may use its window.
type analyzedTrigger struct {
	TriggerReport
	used bool
}

// triggers places the profile's triggers on the timeline: from the calls the trailer
// recorded, or from the profile's schedule when there is no record. A trigger whose start
// call failed is reported, with a warning, but not taken as the trigger.
func (a *Analyzer) triggers(t *results.Trailer) ([]analyzedTrigger, []string) {
	prof := a.h.Profile.Triggers
	if len(prof) == 0 {
		return nil, nil
	}
	var warnings []string
	out := make([]analyzedTrigger, len(prof))
	recorded := t != nil && len(t.Triggers) > 0
	for i, tr := range prof {
		start, end := tr.Window()
		at := analyzedTrigger{TriggerReport: TriggerReport{Name: tr.Label(i), Calls: []results.TriggerCall{},
			StartSeconds: start.Seconds(), EndSeconds: end.Seconds(), Scheduled: !recorded}, used: true}
		if recorded {
			var sawStart bool
			for _, c := range t.Triggers {
				if c.Trigger != i {
					continue
				}
				at.Calls = append(at.Calls, c)
				switch c.Action {
				case results.TriggerStart:
					sawStart = true
					at.StartSeconds = c.FiredSeconds
					if tr.Stop == nil {
						at.EndSeconds = c.FiredSeconds + (end - start).Seconds()
					}
					if !c.OK {
						at.Failed, at.used = true, false
						warnings = append(warnings, fmt.Sprintf("trigger %s: its start call failed (%s): the target may not have changed, so its window is not taken as the trigger", at.Name, c.Error))
					}
				case results.TriggerStop:
					at.EndSeconds = c.FiredSeconds
					if !c.OK {
						warnings = append(warnings, fmt.Sprintf("trigger %s: its stop call failed at t=%.1f s (%s): the target may have stayed changed, and a failure after it may be the trigger's, not the target's", at.Name, c.FiredSeconds, c.Error))
					}
				}
			}
			if !sawStart {
				// Never made: the run stopped before it was due.
				at.used = false
			}
		} else if t == nil {
			warnings = append(warnings, fmt.Sprintf("trigger %s: no record of its calls (the file has no trailer), so its window is the profile's schedule, %.1f–%.1f s", at.Name, at.StartSeconds, at.EndSeconds))
		}
		out[i] = at
	}
	return out, warnings
}

// Line is the trigger in one line for the text summary: its window and each call's answer.
func (tr TriggerReport) Line() string {
	s := fmt.Sprintf("trigger %s: t=%.1f–%.1f s", tr.Name, tr.StartSeconds, tr.EndSeconds)
	if tr.Scheduled {
		s += " (as scheduled; no record of the calls)"
	}
	for _, c := range tr.Calls {
		if c.OK {
			s += fmt.Sprintf("; %s %s %s at %.2f s: %d", c.Action, c.Method, c.URL, c.FiredSeconds, c.Status)
		} else {
			s += fmt.Sprintf("; %s %s %s at %.2f s FAILED: %s", c.Action, c.Method, c.URL, c.FiredSeconds, c.Error)
		}
	}
	return s
}

func seconds(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }
