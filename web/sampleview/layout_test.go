package sampleview

import "testing"

// Grids are exact (tolerance 0): the scale, grid shape and every rectangle
// follow from integer arithmetic.
func TestNewLayout(t *testing.T) {
	for _, tc := range []struct {
		w, h, batch       int
		scale, cols, rows int
	}{
		// 480x360, line 16: the grid block is 464x210 pixels.
		{480, 360, 1, 6, 1, 1},
		{480, 360, 2, 3, 2, 1},
		{480, 360, 4, 3, 2, 2},
		{480, 360, 16, 1, 4, 4},
		// 960x540, line 16: the grid block is 944x352 pixels.
		{960, 540, 1, 11, 1, 1},
		{960, 540, 2, 7, 2, 1},
		{960, 540, 4, 5, 2, 2},
		{960, 540, 16, 2, 4, 4},
		// Too small for scale 1: scale stays 1 and the grid overflows.
		{200, 200, 16, 1, 4, 4},
	} {
		l := NewLayout(tc.w, tc.h, 16, tc.batch, 32, 32)
		if l.Scale != tc.scale || l.Cols != tc.cols || l.Rows != tc.rows {
			t.Errorf("%dx%d batch %d: scale %d grid %dx%d, want scale %d grid %dx%d",
				tc.w, tc.h, tc.batch, l.Scale, l.Cols, l.Rows, tc.scale, tc.cols, tc.rows)
			continue
		}
		if len(l.Pairs) != tc.batch {
			t.Errorf("%dx%d batch %d: %d pairs", tc.w, tc.h, tc.batch, len(l.Pairs))
			continue
		}
		if tc.w <= 200 {
			continue // overflowing on purpose
		}
		canvas := Rect{0, 0, tc.w, tc.h}
		parts := []Rect{l.Header, l.Legend, l.YLabels, l.Plot, l.Axis, {0, l.LabelY, tc.w, 16}}
		for _, p := range l.Pairs {
			parts = append(parts, p.XT, p.X0)
		}
		for i, a := range parts {
			if !inside(a, canvas) {
				t.Errorf("%dx%d batch %d: part %d %v outside the canvas", tc.w, tc.h, tc.batch, i, a)
			}
			if a.W <= 0 || a.H <= 0 {
				t.Errorf("%dx%d batch %d: part %d %v is empty", tc.w, tc.h, tc.batch, i, a)
			}
			for j, b := range parts[:i] {
				if overlap(a, b) {
					t.Errorf("%dx%d batch %d: parts %d %v and %d %v overlap", tc.w, tc.h, tc.batch, j, b, i, a)
				}
			}
		}
	}
}

// TestNewLayoutRects pins every rectangle of batch 4 at 480x360 (scale 3):
// pairs are 96+2+96 wide with 8 between them, centred in the 464-wide block.
func TestNewLayoutRects(t *testing.T) {
	l := NewLayout(480, 360, 16, 4, 32, 32)
	want := Layout{
		Header: Rect{8, 8, 464, 16},
		LabelY: 33,
		Scale:  3, Cols: 2, Rows: 2,
		Pairs: []Pair{
			{Rect{42, 49, 96, 96}, Rect{140, 49, 96, 96}},
			{Rect{244, 49, 96, 96}, Rect{342, 49, 96, 96}},
			{Rect{42, 153, 96, 96}, Rect{140, 153, 96, 96}},
			{Rect{244, 153, 96, 96}, Rect{342, 153, 96, 96}},
		},
		Legend:  Rect{8, 262, 464, 16},
		YLabels: Rect{8, 278, 32, 58},
		Plot:    Rect{40, 278, 432, 58},
		Axis:    Rect{40, 336, 432, 16},
	}
	if l.YLabels != want.YLabels {
		t.Errorf("y labels %v, want %v", l.YLabels, want.YLabels)
	}
	if l.Header != want.Header || l.LabelY != want.LabelY || l.Legend != want.Legend || l.Plot != want.Plot || l.Axis != want.Axis {
		t.Errorf("got header %v labels %d legend %v plot %v axis %v\nwant header %v labels %d legend %v plot %v axis %v",
			l.Header, l.LabelY, l.Legend, l.Plot, l.Axis, want.Header, want.LabelY, want.Legend, want.Plot, want.Axis)
	}
	for i, p := range l.Pairs {
		if p != want.Pairs[i] {
			t.Errorf("pair %d: got %v, want %v", i, p, want.Pairs[i])
		}
	}
	if g, want := l.Grid(), (Rect{42, 49, 396, 200}); g != want {
		t.Errorf("grid %v, want %v", g, want)
	}
	// Three images on a 2x2 grid: the box still spans both columns.
	if g, want := NewLayout(480, 360, 16, 3, 32, 32).Grid(), (Rect{42, 49, 396, 200}); g != want {
		t.Errorf("batch 3: grid %v, want %v", g, want)
	}
}

func inside(a, b Rect) bool {
	return a.X >= b.X && a.Y >= b.Y && a.X+a.W <= b.X+b.W && a.Y+a.H <= b.Y+b.H
}

func overlap(a, b Rect) bool {
	return a.X < b.X+b.W && b.X < a.X+a.W && a.Y < b.Y+b.H && b.Y < a.Y+a.H
}
