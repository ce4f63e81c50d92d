package main

import (
	"fmt"
	"io"
	"strings"
	"time"

	"chrysalis/core/pipeline"
)

// progress draws a one-line progress bar, redrawn in place with \r:
//
//	[##########..........]  12/25  t=520  3.1 steps/s  ETA 4s
type progress struct {
	w     io.Writer
	start time.Time
	open  bool // a bar is drawn without its final newline
}

func newProgress(w io.Writer) *progress { return &progress{w: w, start: time.Now()} }

const barWidth = 30

// step redraws the bar after frame f. p may be nil (no bar).
func (p *progress) step(f pipeline.Frame) {
	if p == nil {
		return
	}
	done := f.Index + 1
	fill := barWidth * done / f.Steps
	rate := float64(done) / time.Since(p.start).Seconds()
	eta := time.Duration(float64(f.Steps-done) / rate * float64(time.Second)).Round(time.Second)
	fmt.Fprintf(p.w, "\r[%s%s] %4d/%d  t=%-7v %5.1f steps/s  ETA %v ",
		strings.Repeat("#", fill), strings.Repeat(".", barWidth-fill), done, f.Steps, f.Timestep, rate, eta)
	p.open = done < f.Steps
	if !p.open {
		fmt.Fprintln(p.w)
	}
}

// abandon ends an unfinished bar's line, so that an error message that
// follows starts on a line of its own. p may be nil (no bar).
func (p *progress) abandon() {
	if p != nil && p.open {
		fmt.Fprintln(p.w)
		p.open = false
	}
}
