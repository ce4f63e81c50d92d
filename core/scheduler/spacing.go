package scheduler

import "math"

// The timestep_spacing rules build their schedules with numpy in float64;
// these helpers reproduce numpy's arithmetic so that every rounding (half to
// even, like np.round) lands where numpy's does.

// npLinspace is np.linspace(start, stop, num): y_i = i·((stop−start)/(num−1)) + start,
// with the last element set to stop exactly.
func npLinspace(start, stop float64, num int) []float64 {
	y := make([]float64, num)
	div := num - 1
	delta := stop - start
	step := delta / float64(div)
	for i := range y {
		switch {
		case div <= 0:
			y[i] = float64(float64(i)*delta) + start
		case step == 0:
			y[i] = float64(float64(i)/float64(div)*delta) + start
		default:
			y[i] = float64(float64(i)*step) + start
		}
	}
	if num > 1 {
		y[num-1] = stop
	}
	return y
}

// npArange is np.arange(start, stop, step) in float64 for a negative step, as
// numpy computes it: length ceil((stop−start)/step), y_0 = start,
// y_1 = start+step, and y_i = start + i·(y_1 − y_0) after that.
func npArange(start, stop, step float64) []float64 {
	n := math.Ceil((stop - start) / step)
	if !(n > 0) {
		return nil
	}
	y := make([]float64, int(n))
	y[0] = start
	if len(y) > 1 {
		y[1] = start + step
	}
	d := (start + step) - start
	for i := 2; i < len(y); i++ {
		y[i] = start + float64(float64(i)*d)
	}
	return y
}

// reversed returns the elements of x in reverse order.
func reversed[T any](x []T) []T {
	out := make([]T, len(x))
	for i, v := range x {
		out[len(x)-1-i] = v
	}
	return out
}

// ddpmTimesteps is set_timesteps' schedule for DDPM and DDIM: n integer
// timesteps in descending order.
//   - leading:  t_k = k·(T//n) + steps_offset, k = n-1 … 0
//   - trailing: round(T, T − T/n, … > 0) − 1
//   - linspace: round(linspace(0, T−1, n)), reversed
func ddpmTimesteps(spacing string, T, n, offset int) []float32 {
	var y []float64
	switch spacing {
	case "leading":
		y = make([]float64, n)
		for k := range y {
			y[k] = float64(k*(T/n) + offset)
		}
	case "trailing":
		y = npArange(float64(T), 0, -float64(T)/float64(n))
	default: // "linspace"
		y = npLinspace(0, float64(T-1), n)
	}
	out := make([]float32, len(y))
	for k, v := range y {
		out[k] = float32(math.RoundToEven(v))
	}
	if spacing == "trailing" {
		for k := range out {
			out[k]-- // after rounding: 937.5 → 938 → 937
		}
		return out // already descending
	}
	return reversed(out)
}
