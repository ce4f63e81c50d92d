package sampleview

import "math"

// Point is a position on the canvas, in pixels.
type Point struct{ X, Y float32 }

// Plot maps the noise schedule onto Area: the timestep t in [0, T-1] goes
// from the left pixel centre to the right one, a value in [0, 1] from the
// bottom pixel centre to the top one.
type Plot struct {
	Area Rect
	T    int // num_train_timesteps, len(alphas_cumprod)
}

// X is the x of timestep t, clamped to [0, T-1].
func (p Plot) X(t float64) float32 {
	u := 0.0
	if p.T > 1 {
		u = min(max(t/float64(p.T-1), 0), 1)
	}
	return float32(float64(p.Area.X) + 0.5 + u*float64(p.Area.W-1))
}

// Y is the y of the value v in [0, 1].
func (p Plot) Y(v float64) float32 {
	return float32(float64(p.Area.Y) + 0.5 + (1-v)*float64(p.Area.H-1))
}

// Curves gives the polylines of the signal and noise coefficients of
// x_t = √ᾱ_t x0 + √(1−ᾱ_t) ε, one vertex per timestep: signal[t] is
// (X(t), Y(√ᾱ_t)) and noise[t] is (X(t), Y(√(1−ᾱ_t))), with ᾱ = alphas_cumprod.
func (p Plot) Curves(alphasCumprod []float32) (signal, noise []Point) {
	signal = make([]Point, len(alphasCumprod))
	noise = make([]Point, len(alphasCumprod))
	for t, a := range alphasCumprod {
		x := p.X(float64(t))
		signal[t] = Point{x, p.Y(math.Sqrt(float64(a)))}
		noise[t] = Point{x, p.Y(math.Sqrt(1 - float64(a)))}
	}
	return signal, noise
}

// Marker gives where the curves are at timestep t, which may fall between
// two integers (Euler's timesteps do): ᾱ is interpolated linearly between
// its neighbours, and signal and noise are (X(t), Y(√ᾱ)) and (X(t), Y(√(1−ᾱ))).
func (p Plot) Marker(alphasCumprod []float32, t float64) (signal, noise Point) {
	if len(alphasCumprod) == 0 {
		return Point{}, Point{}
	}
	t = min(max(t, 0), float64(len(alphasCumprod)-1))
	i := int(t)
	a := float64(alphasCumprod[i])
	if f := t - float64(i); f > 0 {
		a = (1-f)*a + f*float64(alphasCumprod[i+1])
	}
	x := p.X(t)
	return Point{x, p.Y(math.Sqrt(a))}, Point{x, p.Y(math.Sqrt(1 - a))}
}
