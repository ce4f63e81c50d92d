package sampleview

import (
	"math"
	"testing"
)

// Points are within 1e-4 pixels of the hand-computed ones (float32 rounding).
func TestPlotCurves(t *testing.T) {
	p := Plot{Area: Rect{10, 20, 101, 51}, T: 3}
	// ᾱ = 1, 0.25, 0: √ᾱ = 1, 0.5, 0 and √(1−ᾱ) = 0, √0.75, 1.
	signal, noise := p.Curves([]float32{1, 0.25, 0})
	wantSignal := []Point{{10.5, 20.5}, {60.5, 45.5}, {110.5, 70.5}}
	wantNoise := []Point{{10.5, 70.5}, {60.5, float32(20.5 + (1-math.Sqrt(0.75))*50)}, {110.5, 20.5}}
	for i := range wantSignal {
		if !near(signal[i], wantSignal[i]) || !near(noise[i], wantNoise[i]) {
			t.Errorf("t=%d: signal %v noise %v, want %v %v", i, signal[i], noise[i], wantSignal[i], wantNoise[i])
		}
	}
	// The marker of a timestep outside [0, T-1] stays on the plot.
	for _, tc := range []struct{ t, x float64 }{{-5, 10.5}, {0.5, 35.5}, {2, 110.5}, {9, 110.5}} {
		if x := p.X(tc.t); math.Abs(float64(x)-tc.x) > 1e-4 {
			t.Errorf("X(%v) = %v, want %v", tc.t, x, tc.x)
		}
	}
	// Markers: at t=1 the curve points; at t=0.5, ᾱ = (1+0.25)/2 = 0.625.
	for _, tc := range []struct {
		t             float64
		signal, noise Point
	}{
		{1, wantSignal[1], wantNoise[1]},
		{0.5, Point{35.5, float32(20.5 + (1-math.Sqrt(0.625))*50)}, Point{35.5, float32(20.5 + (1-math.Sqrt(0.375))*50)}},
		{7, wantSignal[2], wantNoise[2]},
	} {
		s, n := p.Marker([]float32{1, 0.25, 0}, tc.t)
		if !near(s, tc.signal) || !near(n, tc.noise) {
			t.Errorf("Marker(%v) = %v %v, want %v %v", tc.t, s, n, tc.signal, tc.noise)
		}
	}
	// One timestep: everything at the left edge, no division by zero.
	if x := (Plot{Area: Rect{10, 20, 101, 51}, T: 1}).X(0); x != 10.5 {
		t.Errorf("T=1: X(0) = %v, want 10.5", x)
	}
}

func near(a, b Point) bool {
	return math.Abs(float64(a.X-b.X)) <= 1e-4 && math.Abs(float64(a.Y-b.Y)) <= 1e-4
}
