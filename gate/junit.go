package gate

import (
	"encoding/xml"
	"fmt"
	"io"
)

// The JUnit elements stormtest writes: the subset of the common (Jenkins/Ant) schema that CI
// systems read: GitLab, GitHub Actions reporters, Jenkins, Azure Pipelines.
type junitSuites struct {
	XMLName  xml.Name     `xml:"testsuites"`
	Name     string       `xml:"name,attr"`
	Tests    int          `xml:"tests,attr"`
	Failures int          `xml:"failures,attr"`
	Errors   int          `xml:"errors,attr"`
	Time     string       `xml:"time,attr"`
	Suites   []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name     string      `xml:"name,attr"`
	Tests    int         `xml:"tests,attr"`
	Failures int         `xml:"failures,attr"`
	Errors   int         `xml:"errors,attr"`
	Skipped  int         `xml:"skipped,attr"`
	Time     string      `xml:"time,attr"`
	Cases    []junitCase `xml:"testcase"`
}

type junitCase struct {
	Name      string        `xml:"name,attr"`
	Classname string        `xml:"classname,attr"`
	Time      string        `xml:"time,attr"`
	Failure   *junitFailure `xml:"failure,omitempty"`
	SystemOut string        `xml:"system-out,omitempty"`
}

type junitFailure struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr"`
	Text    string `xml:",chardata"`
}

// WriteJUnit writes the results as a JUnit XML report: one <testsuite> named suiteName with
// one <testcase> per threshold (named by its expression), a <failure> on each failed one,
// and durations of 0 since a threshold takes no time to check. Thresholds that could not be
// evaluated are failures too (type "unevaluable"): JUnit errors are often shown as flaky
// infrastructure, and a gate that did not look must read as failed.
func WriteJUnit(w io.Writer, suiteName string, results []Result) error {
	suite := junitSuite{Name: suiteName, Tests: len(results), Time: "0"}
	for _, r := range results {
		c := junitCase{Name: r.Threshold.Expr, Classname: suiteName, Time: "0"}
		if r.Pass {
			c.SystemOut = r.Message()
		} else {
			typ := "threshold"
			if r.Err != nil {
				typ = "unevaluable"
			}
			c.Failure = &junitFailure{Message: r.Message(), Type: typ, Text: r.Message()}
			suite.Failures++
		}
		suite.Cases = append(suite.Cases, c)
	}
	doc := junitSuites{Name: suiteName, Tests: suite.Tests, Failures: suite.Failures, Time: "0", Suites: []junitSuite{suite}}
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return fmt.Errorf("gate: writing JUnit: %w", err)
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(doc); err != nil {
		return fmt.Errorf("gate: writing JUnit: %w", err)
	}
	if _, err := io.WriteString(w, "\n"); err != nil {
		return fmt.Errorf("gate: writing JUnit: %w", err)
	}
	return nil
}
