// Package export turns a stormtest results file into formats other tools read: vegeta's
// JSON and CSV result encodings (so that `vegeta report` and `vegeta plot` work on a
// stormtest run) and a plain CSV with one row per attempt for spreadsheets and pandas.
//
// Every format is written while the file is read, one record at a time, so memory does not
// grow with the length of the run: an export is a results.Sink (Sink), and Write feeds it a
// recorded run through results.Copy.
package export

import (
	"bufio"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/stormtest/stormtest/profiles"
	"github.com/stormtest/stormtest/results"
)

// Format names an export format.
type Format string

// Formats.
const (
	// VegetaJSON is vegeta's JSON result encoding: one object per line, as `vegeta encode`
	// writes it.
	VegetaJSON Format = "vegeta-json"
	// VegetaCSV is vegeta's CSV result encoding: no header row, twelve columns in the order
	// of vegeta's lib.NewCSVEncoder.
	VegetaCSV Format = "vegeta-csv"
	// CSV is stormtest's own columns (CSVColumns) with a header row: everything a record
	// holds, including what vegeta's formats cannot carry (send lag, attempt, request age).
	CSV Format = "csv"
)

// Formats lists the supported formats, for help texts and error messages.
func Formats() []Format { return []Format{VegetaJSON, VegetaCSV, CSV} }

// ParseFormat checks a format name.
func ParseFormat(s string) (Format, error) {
	for _, f := range Formats() {
		if string(f) == s {
			return f, nil
		}
	}
	names := make([]string, 0, len(Formats()))
	for _, f := range Formats() {
		names = append(names, string(f))
	}
	return "", fmt.Errorf("unknown export format %q: want one of %s", s, strings.Join(names, ", "))
}

// CSVColumns is the header row of the CSV format.
var CSVColumns = []string{
	"request_id", "attempt", "group", "phase", "kind", "code",
	"intended_unix_ns", "send_lag_ns", "service_time_ns", "latency_ns", "request_age_ns", "error",
}

// Stats says what Write exported.
type Stats struct {
	Records uint64 // records written
	// Damage is set when the results file is cut short or corrupt: every record before the
	// damage was exported, none after it. Write also returns it (wrapped) as its error.
	Damage *results.DamageError
}

// Write exports every record src yields (a *results.Reader, say) to w in format f, through
// results.Copy into a Sink. If the file is damaged it exports what is readable and returns
// an error wrapping the *results.DamageError (also in Stats.Damage), so that a caller can
// warn and keep the output. Any other error means the output is incomplete.
func Write(w io.Writer, src results.Source, f Format) (Stats, error) {
	s := NewSink(w, f)
	n, damage, err := results.Copy(s, src)
	st := Stats{Records: n}
	if err != nil {
		if err != s.err { // the sink's errors say what failed; a read error does not
			err = fmt.Errorf("export: reading results: %w", err)
		}
		return st, err
	}
	if err := s.Flush(); err != nil {
		return st, err
	}
	if damage != nil {
		errors.As(damage, &st.Damage)
		return st, fmt.Errorf("export: results file %w (exported the %d records before the damage)", damage, st.Records)
	}
	return st, nil
}

// Sink exports a run's attempt stream in one format as it comes: a results.Sink, so a run can
// be exported while it is recorded (results.Tee) as well as read back (Write). Begin picks
// the encoder (and writes the csv header row), Write encodes one record, End flushes. Output
// is buffered: a stream that ends without End (cut short) must be flushed with Flush.
type Sink struct {
	w   *bufio.Writer
	f   Format
	enc encoder
	err error // the first error the sink returned
}

// NewSink returns a Sink that writes format f to w. An unknown format fails at Begin.
func NewSink(w io.Writer, f Format) *Sink {
	return &Sink{w: bufio.NewWriterSize(w, 64<<10), f: f}
}

// Begin prepares the encoder for a run with header h.
func (s *Sink) Begin(h results.Header) error {
	enc, err := newEncoder(s.w, h, s.f)
	if err != nil {
		return s.fail(err)
	}
	s.enc = enc
	return nil
}

// Write exports one record.
func (s *Sink) Write(rec *results.Record) error {
	if s.enc == nil {
		return s.fail(errors.New("export: Write before Begin"))
	}
	if err := s.enc(rec); err != nil {
		return s.fail(fmt.Errorf("export: writing %s: %w", s.f, err))
	}
	return nil
}

// End flushes the export: the trailer itself has no place in any of the formats.
func (s *Sink) End(results.Trailer) error { return s.Flush() }

// Flush writes out what is buffered.
func (s *Sink) Flush() error {
	if err := s.w.Flush(); err != nil {
		return s.fail(fmt.Errorf("export: writing %s: %w", s.f, err))
	}
	return nil
}

func (s *Sink) fail(err error) error {
	if s.err == nil {
		s.err = err
	}
	return err
}

// encoder writes one record.
type encoder func(*results.Record) error

func newEncoder(w io.Writer, h results.Header, f Format) (encoder, error) {
	switch f {
	case VegetaJSON:
		return vegetaEncoder(vegeta.NewJSONEncoder(w), h), nil
	case VegetaCSV:
		return vegetaEncoder(csvSafe(vegeta.NewCSVEncoder(w)), h), nil
	case CSV:
		return csvEncoder(w, h)
	}
	_, err := ParseFormat(string(f))
	return nil, fmt.Errorf("export: %w", err)
}

// vegetaEncoder maps records onto one reused vegeta Result.
//
// Timestamp is the attempt's *intended* start and Latency is Record.Latency(), which runs
// from that intended start, not from the actual send as vegeta itself measures. That is the
// latency a user behind the attempt felt: when the generator falls behind, the queueing it
// suffered shows up in vegeta's percentiles instead of being hidden (coordinated omission).
// It also keeps Timestamp+Latency equal to the attempt's real end, so vegeta's duration,
// wait and throughput figures and its plot's time axis stay right. The pure service time
// is in the csv format.
//
// Attack is the profile name and Seq the record's position in the file, since vegeta
// numbers every hit of one attack. Bodies and byte counts are not recorded by stormtest and
// are left empty. A failed attempt without an error message gets vegeta's own convention,
// the status line ("503 Service Unavailable"), so that vegeta's error set lists it.
func vegetaEncoder(enc vegeta.Encoder, h results.Header) encoder {
	method := h.Profile.Request.Method
	if method == "" {
		method = profiles.DefaultMethod
	}
	path := h.Profile.Request.Path
	if path == "" {
		path = profiles.DefaultPath
	}
	res := vegeta.Result{
		Attack: h.Profile.Name,
		Method: method,
		URL:    strings.TrimRight(h.Target, "/") + path,
	}
	var seq uint64
	return func(rec *results.Record) error {
		res.Seq = seq
		seq++
		res.Code = rec.Code
		res.Timestamp = time.Unix(0, rec.Intended).UTC()
		res.Latency = rec.Latency()
		res.Error = rec.Error
		if res.Error == "" && (rec.Code < 200 || rec.Code >= 400) {
			res.Error = statusLine(rec)
		}
		return enc.Encode(&res)
	}
}

// statusLine is vegeta's error text for an unsuccessful status, or the kind's name when no
// response arrived.
func statusLine(rec *results.Record) string {
	if rec.Code == 0 {
		return rec.Kind.String()
	}
	if text := http.StatusText(int(rec.Code)); text != "" {
		return strconv.Itoa(int(rec.Code)) + " " + text
	}
	return strconv.Itoa(int(rec.Code))
}

func csvEncoder(w io.Writer, h results.Header) (encoder, error) {
	cw := csv.NewWriter(w)
	if err := cw.Write(CSVColumns); err != nil {
		return nil, fmt.Errorf("export: writing csv header: %w", err)
	}
	groups := nameTable(len(h.Groups), func(i int) string { return h.Groups[i] })
	phases := nameTable(len(h.Profile.Phases), func(i int) string { return h.Profile.Phases[i].Name })
	row := make([]string, len(CSVColumns))
	return func(rec *results.Record) error {
		row[0] = strconv.FormatUint(rec.RequestID, 10)
		row[1] = strconv.Itoa(int(rec.Attempt))
		row[2] = csvCell(groups(rec.Group))
		row[3] = csvCell(phases(rec.Phase))
		row[4] = rec.Kind.String()
		row[5] = strconv.Itoa(int(rec.Code))
		row[6] = strconv.FormatInt(rec.Intended, 10)
		row[7] = strconv.FormatInt(int64(rec.SendLag), 10)
		row[8] = strconv.FormatInt(int64(rec.ServiceTime), 10)
		row[9] = strconv.FormatInt(int64(rec.Latency()), 10)
		row[10] = strconv.FormatInt(int64(rec.RequestAge), 10)
		row[11] = csvCell(rec.Error)
		if err := cw.Write(row); err != nil {
			return err
		}
		// csv.Writer buffers on its own; flushing per row hands the bytes to the bufio.Writer
		// beneath, so an error surfaces at the record that caused it.
		cw.Flush()
		return cw.Error()
	}, nil
}

// nameTable resolves a group or phase index to its name, or to the number itself when the
// header has no name for it (a file written by a newer stormtest, or a hand-made one).
func nameTable(n int, name func(int) string) func(uint8) string {
	return func(i uint8) string {
		if int(i) < n {
			if s := name(int(i)); s != "" {
				return s
			}
		}
		return strconv.Itoa(int(i))
	}
}

// csvCell neutralises a text cell a spreadsheet would evaluate as a formula: a reason phrase
// sent by the target (or a name in the profile) starting with = + - @ TAB or CR gets a single
// quote in front, as OWASP recommends for CSV injection. Spreadsheets show the quote as a
// text marker; other readers see it and the rest of the text unchanged. Only text cells go
// through here: numeric columns stay numbers.
func csvCell(s string) string {
	if s != "" && strings.IndexByte("=+-@\t\r", s[0]) >= 0 {
		return "'" + s
	}
	return s
}

// csvSafe applies csvCell to the text fields of vegeta's CSV encoding. vegeta's JSON
// encoding gets the text as it is: it is not opened by spreadsheets.
func csvSafe(enc vegeta.Encoder) vegeta.Encoder {
	return func(r *vegeta.Result) error {
		res := *r
		res.Attack, res.Method, res.URL, res.Error = csvCell(r.Attack), csvCell(r.Method), csvCell(r.URL), csvCell(r.Error)
		return enc(&res)
	}
}
