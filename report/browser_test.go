package report

import (
	"bytes"
	"context"
	"fmt"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stormtest/stormtest/analyze"
)

// findChromium returns the browser to test with. The test is skipped when there is none,
// unless STORMTEST_BROWSER_TEST=1 says it must run (CI installs chromium), and then a missing
// browser is a failure rather than a silent skip.
func findChromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("STORMTEST_BROWSER_TEST") == "1" {
		t.Fatal("STORMTEST_BROWSER_TEST=1 but neither chromium nor chromium-browser is on PATH")
	}
	t.Skip("no chromium on PATH (set STORMTEST_BROWSER_TEST=1 to require it)")
	return ""
}

// chromiumArgs are the flags for a quiet, offline, throwaway headless browser.
func chromiumArgs(profile string, extra ...string) []string {
	return append([]string{
		"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--hide-scrollbars", "--user-data-dir=" + profile,
	}, extra...)
}

// TestBrowserRendersReport opens a before/after report in headless Chromium: the page must
// load without console errors, its DOM must hold the charts, and the screenshot must show
// something (not a blank page). The screenshot is kept as a test artefact to look at.
func TestBrowserRendersReport(t *testing.T) {
	var b bytes.Buffer
	reps := []*analyze.Report{synthReport(t, true), synthReport(t, false)}
	if err := Write(&b, reps, []string{"retries", "no retries"}); err != nil {
		t.Fatal(err)
	}
	browserCheck(t, "report", b.Bytes(), chartCount, []string{"metastable", "overloaded", "Load and goodput"}, 2400)
}

// TestBrowserRendersCapacity does the same for the capacity page: the knee charts, the
// tipping map, the boundary sentences.
func TestBrowserRendersCapacity(t *testing.T) {
	var b bytes.Buffer
	if err := WriteCapacity(&b, synthCapacity()); err != nil {
		t.Fatal(err)
	}
	browserCheck(t, "capacity", b.Bytes(), 3, []string{"knee 395.3 req/s", "Tipping map", "does not recover with budgeted retries"}, 2200)
}

// browserCheck loads page in headless Chromium and checks its DOM (charts, wanted text, no
// script or external element, no console message) and a 1400 × height screenshot (not
// blank). The page and the screenshot are kept as name.html and name.png in
// $STORMTEST_ARTIFACTS (else a temporary directory) to look at.
func browserCheck(t *testing.T, name string, page []byte, charts int, wants []string, height int) {
	t.Helper()
	chromium := findChromium(t)
	dir := t.TempDir()
	file := filepath.Join(dir, name+".html")
	if err := os.WriteFile(file, page, 0o644); err != nil {
		t.Fatal(err)
	}
	url := "file://" + file

	run := func(args ...string) (stdout, stderr string) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
		defer cancel()
		cmd := exec.CommandContext(ctx, chromium, args...)
		var out, errb bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errb
		if err := cmd.Run(); err != nil {
			t.Fatalf("%s %s: %v\n%s", chromium, strings.Join(args, " "), err, errb.String())
		}
		return out.String(), errb.String()
	}

	dom, logs := run(chromiumArgs(filepath.Join(dir, "profile-dom"), "--enable-logging=stderr", "--v=0", "--dump-dom", url)...)
	for _, line := range strings.Split(logs, "\n") {
		if strings.Contains(line, "CONSOLE") {
			t.Errorf("console message: %s", line)
		}
	}
	if n := strings.Count(dom, "<svg"); n != charts {
		t.Errorf("the browser's DOM has %d <svg> charts, want %d", n, charts)
	}
	for _, want := range wants {
		if !strings.Contains(dom, want) {
			t.Errorf("the browser's DOM lacks %q", want)
		}
	}
	if m := regexp.MustCompile(`(?i)<(script|link|img|iframe)\b`).FindString(dom); m != "" {
		t.Errorf("the browser's DOM has %s", m)
	}

	shot := filepath.Join(dir, name+".png")
	run(chromiumArgs(filepath.Join(dir, "profile-shot"), "--screenshot="+shot, fmt.Sprintf("--window-size=1400,%d", height), url)...)
	f, err := os.Open(shot)
	if err != nil {
		t.Fatalf("no screenshot: %v", err)
	}
	img, err := png.Decode(f)
	f.Close()
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	bounds := img.Bounds()
	if bounds.Dx() < 1000 || bounds.Dy() < height*5/8 {
		t.Errorf("screenshot is %v, want about 1400×%d", bounds.Size(), height)
	}
	// A rendered page has text, lines and coloured fills: many distinct colours and a fair
	// share of non-white pixels. A blank or error page has neither.
	colours := map[uint32]bool{}
	var n, nonWhite int
	var sum, sumSq float64
	for y := bounds.Min.Y; y < bounds.Max.Y; y += 2 {
		for x := bounds.Min.X; x < bounds.Max.X; x += 2 {
			r, g, bl, _ := img.At(x, y).RGBA()
			colours[(r>>11)<<10|(g>>11)<<5|bl>>11] = true
			l := (0.299*float64(r) + 0.587*float64(g) + 0.114*float64(bl)) / 65535
			sum, sumSq = sum+l, sumSq+l*l
			n++
			if l < 0.97 {
				nonWhite++
			}
		}
	}
	mean := sum / float64(n)
	variance := sumSq/float64(n) - mean*mean
	t.Logf("screenshot %v: %d colours, %.1f%% non-white, luminance variance %.4f", bounds.Size(), len(colours), 100*float64(nonWhite)/float64(n), variance)
	if len(colours) < 50 || variance < 0.005 || nonWhite < n/20 {
		t.Errorf("the screenshot looks blank: %d colours, luminance variance %.4f, %d of %d pixels non-white", len(colours), variance, nonWhite, n)
	}

	artefacts := os.Getenv("STORMTEST_ARTIFACTS")
	if artefacts == "" {
		artefacts = t.TempDir()
	}
	if err := os.MkdirAll(artefacts, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{name + ".png", name + ".html"} {
		data, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(artefacts, f), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("screenshot and page kept in %s", artefacts)
}
