package results

import (
	"errors"
	"fmt"
	"io"
)

// Sink receives the attempt stream of one run, as vegeta's Encoder receives results: Begin
// once with the header, Write once per attempt, End once with the trailer. Every consumer of
// a run is a Sink: the results file (FileSink), the analysis (analyze.Analyzer), the exports
// (export, hlog), and several at once (Tee).
//
// Calls come from one goroutine and never overlap, so a Sink needs no lock of its own:
// during an attack it is the attack's single consumer goroutine (the one that called
// attack.Run, which also reads vegeta's results); when a run is read back it is the goroutine
// that called Copy. The record passed to Write is only valid during the call.
//
// End means the stream finished with a trailer. A stream that was cut short (a crash, a
// kill -9, a damaged file) has none and ends without End: whoever drives the Sink finishes it
// then (the analysis reports "no trailer", an export flushes what it has).
type Sink interface {
	Begin(Header) error
	Write(*Record) error
	End(Trailer) error
}

// Source yields the attempt stream of one recorded run, as vegeta's Decoder yields results:
// its Header at once, then Next fills in one record after another, in the order the attempts
// completed, and returns io.EOF at the end. A stream cut short or corrupt first returns one
// error wrapping a *DamageError, after every intact record; only then io.EOF. Trailer is known
// once Next has returned io.EOF; ok is false when the stream has none. *Reader is a Source,
// and so is the merge of several shards of one run (analyze.Files).
//
// A Source is read from one goroutine.
type Source interface {
	Header() Header
	Next(*Record) error
	Trailer() (t Trailer, ok bool)
}

// WriteFunc adapts a function to a Sink that takes records only: Begin and End do nothing.
// It is for consumers that need neither header nor trailer (a counter, a test's recorder).
type WriteFunc func(*Record) error

// Begin does nothing.
func (f WriteFunc) Begin(Header) error { return nil }

// Write calls f(r).
func (f WriteFunc) Write(r *Record) error { return f(r) }

// End does nothing.
func (f WriteFunc) End(Trailer) error { return nil }

// Tee returns a Sink that hands every call to each of sinks in turn, as io.MultiWriter does:
// to record a run to a file and analyse it at once. A call stops at the first sink that
// fails and returns its error, so a failed disk stops the stream for all of them.
func Tee(sinks ...Sink) Sink {
	return tee(append([]Sink(nil), sinks...))
}

type tee []Sink

func (t tee) Begin(h Header) error {
	for _, s := range t {
		if err := s.Begin(h); err != nil {
			return err
		}
	}
	return nil
}

func (t tee) Write(r *Record) error {
	for _, s := range t {
		if err := s.Write(r); err != nil {
			return err
		}
	}
	return nil
}

// Scrape hands s to every sink that takes scrapes (ScrapeSink), so a tee always takes them.
func (t tee) Scrape(s *Scrape) error {
	for _, sk := range t {
		if ss, ok := sk.(ScrapeSink); ok {
			if err := ss.Scrape(s); err != nil {
				return err
			}
		}
	}
	return nil
}

// End reaches every sink even when one fails, so that each can close what it opened; it
// returns the first error.
func (t tee) End(tr Trailer) error {
	var first error
	for _, s := range t {
		if err := s.End(tr); err != nil && first == nil {
			first = err
		}
	}
	return first
}

// Copy streams src into dst: Begin with src's header, Write for every record, and End with
// src's trailer when it has one. It is the one loop that reads a recorded run, so damage is
// handled alike everywhere: a *DamageError from src ends the records but not the copy (the
// trailer, if any, still reaches End), and is returned as damage, as src returned it, for the
// caller to warn about. n counts the records written. err is the first error of dst, or of
// src other than io.EOF and damage, unchanged: each carries its own context (a *Reader only
// ever fails with damage). When dst takes scrapes (ScrapeSink) and src carries them
// (ScrapeSource), they reach dst in stream order, between the records.
func Copy(dst Sink, src Source) (n uint64, damage error, err error) {
	if err := dst.Begin(src.Header()); err != nil {
		return 0, nil, err
	}
	if ss, ok := dst.(ScrapeSink); ok {
		if sc, ok := src.(ScrapeSource); ok {
			sc.OnScrape(ss.Scrape)
		}
	}
	var rec Record
	for {
		err := src.Next(&rec)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			var de *DamageError
			if !errors.As(err, &de) {
				return n, nil, err
			}
			damage = err
			break
		}
		if err := dst.Write(&rec); err != nil {
			return n, damage, err
		}
		n++
	}
	if t, ok := src.Trailer(); ok {
		if err := dst.End(t); err != nil {
			return n, damage, err
		}
	}
	return n, damage, nil
}

// FileSink writes the stream to a results file: Begin creates the file at Path and writes
// the header (Create), Write records, End writes the trailer and closes the file. A stream
// that ends without End leaves a file without a trailer, readable up to its last flushed
// block, exactly as a crash would.
type FileSink struct {
	Path    string
	Options CreateOptions
	w       *Writer
}

// NewFileSink returns a Sink that will create the results file at path when it begins.
func NewFileSink(path string, opt CreateOptions) *FileSink {
	return &FileSink{Path: path, Options: opt}
}

// Begin creates the file and writes h.
func (s *FileSink) Begin(h Header) error {
	if s.w != nil {
		return fmt.Errorf("results: %s: Begin called twice", s.Path)
	}
	w, err := Create(s.Path, h, s.Options)
	if err != nil {
		return err
	}
	s.w = w
	return nil
}

// Write records one attempt; see Writer.Write.
func (s *FileSink) Write(r *Record) error {
	if s.w == nil {
		return fmt.Errorf("results: %s: Write before Begin", s.Path)
	}
	return s.w.Write(r)
}

// Scrape stores one scrape of the target's metrics; see Writer.WriteScrape.
func (s *FileSink) Scrape(sc *Scrape) error {
	if s.w == nil {
		return fmt.Errorf("results: %s: Scrape before Begin", s.Path)
	}
	return s.w.WriteScrape(sc)
}

// End closes the file with trailer t; see Writer.Close.
func (s *FileSink) End(t Trailer) error {
	if s.w == nil {
		return fmt.Errorf("results: %s: End before Begin", s.Path)
	}
	return s.w.Close(t)
}

// Records is how many records the file has accepted so far.
func (s *FileSink) Records() uint64 {
	if s.w == nil {
		return 0
	}
	return s.w.Records()
}

// Written is how many records are in the file (see Writer.Written): after a write error,
// the number kept.
func (s *FileSink) Written() uint64 {
	if s.w == nil {
		return 0
	}
	return s.w.Written()
}
