package half

import (
	"math"
	"testing"
)

// f16Value is the binary16 value of h computed from its definition in float64:
// (-1)^s · 2^(e-15) · (1 + m/1024), or 2^-14 · m/1024 for e = 0.
func f16Value(h uint16) float64 {
	s := 1.0
	if h&0x8000 != 0 {
		s = -1
	}
	e, m := int(h>>10)&0x1f, float64(h&0x3ff)
	switch {
	case e == 0x1f && m == 0:
		return s * math.Inf(1)
	case e == 0x1f:
		return math.NaN()
	case e == 0:
		return s * math.Ldexp(m, -24)
	}
	return s * math.Ldexp(1024+m, e-25)
}

// Every half value widens exactly, and narrows back to itself.
func TestF16Exhaustive(t *testing.T) {
	for i := 0; i < 1<<16; i++ {
		h := uint16(i)
		got := F16ToF32(h)
		want := f16Value(h)
		if math.IsNaN(want) {
			if !math.IsNaN(float64(got)) || math.Float32bits(got)&0x1fff != 0 || uint16(math.Float32bits(got)>>13)&0x3ff != h&0x3ff {
				t.Fatalf("f16 %#04x: got %v (%#08x), want NaN with the payload", h, got, math.Float32bits(got))
			}
			if back := F32ToF16(got); back&0x7c00 != 0x7c00 || back&0x3ff == 0 {
				t.Fatalf("f16 NaN %#04x narrowed to %#04x, not a NaN", h, back)
			}
			continue
		}
		if float64(got) != want || math.Signbit(float64(got)) != (h&0x8000 != 0) {
			t.Fatalf("f16 %#04x: got %v, want %v", h, got, want)
		}
		if back := F32ToF16(got); back != h {
			t.Fatalf("f16 %#04x -> %v -> %#04x", h, got, back)
		}
	}
}

// Narrowing rounds to nearest, ties to even: the midpoint between two
// adjacent halves goes to the even one, one float32 ulp either side goes to
// the nearer one. Midpoints need 12 significant bits, so float32 holds them.
func TestF32ToF16Rounding(t *testing.T) {
	for h := uint16(0); h < 0x7bff; h++ { // 0x7bff..Inf is in the table below
		lo, hi := f16Value(h), f16Value(h+1)
		mid := float32((lo + hi) / 2)
		even := h
		if h&1 == 1 {
			even = h + 1
		}
		if got := F32ToF16(mid); got != even {
			t.Fatalf("midpoint %v of %#04x,%#04x -> %#04x, want %#04x", mid, h, h+1, got, even)
		}
		if got := F32ToF16(math.Nextafter32(mid, 0)); got != h {
			t.Fatalf("just below midpoint of %#04x -> %#04x", h, got)
		}
		if got := F32ToF16(math.Nextafter32(mid, float32(math.Inf(1)))); got != h+1 {
			t.Fatalf("just above midpoint of %#04x -> %#04x", h, got)
		}
		if got := F32ToF16(-mid); got != even|0x8000 {
			t.Fatalf("negative midpoint of %#04x -> %#04x", h, got)
		}
	}
	for _, c := range []struct {
		in   float32
		want uint16
	}{
		{65519.996, 0x7bff}, {65520, 0x7c00}, {1e10, 0x7c00}, {-1e10, 0xfc00},
		{float32(math.Ldexp(1, -25)), 0}, {math.Nextafter32(float32(math.Ldexp(1, -25)), 1), 1},
		{1e-30, 0}, {math.SmallestNonzeroFloat32, 0},
	} {
		if got := F32ToF16(c.in); got != c.want {
			t.Errorf("F32ToF16(%v) = %#04x, want %#04x", c.in, got, c.want)
		}
	}
}

func TestBF16(t *testing.T) {
	for i := 0; i < 1<<16; i++ {
		h := uint16(i)
		f := BF16ToF32(h)
		if math.IsNaN(float64(f)) {
			if back := F32ToBF16(f); back&0x7f80 != 0x7f80 || back&0x7f == 0 {
				t.Fatalf("bf16 NaN %#04x narrowed to %#04x", h, back)
			}
			continue
		}
		if back := F32ToBF16(f); back != h {
			t.Fatalf("bf16 %#04x -> %v -> %#04x", h, f, back)
		}
		if h&0x7fff >= 0x7f7f {
			continue // the next value up is Inf or NaN
		}
		// Ties to even, and one float32 ulp either side.
		mid := math.Float32frombits(uint32(h)<<16 | 0x8000)
		even := h + uint16(h&1)
		if got := F32ToBF16(mid); got != even {
			t.Fatalf("bf16 midpoint above %#04x -> %#04x, want %#04x", h, got, even)
		}
		if got := F32ToBF16(math.Float32frombits(math.Float32bits(mid) - 1)); got != h {
			t.Fatalf("bf16 below midpoint above %#04x -> %#04x", h, got)
		}
		if got := F32ToBF16(math.Float32frombits(math.Float32bits(mid) + 1)); got != h+1 {
			t.Fatalf("bf16 above midpoint above %#04x -> %#04x", h, got)
		}
	}
	if got := F32ToBF16(math.MaxFloat32); got != 0x7f80 {
		t.Errorf("MaxFloat32 -> %#04x, want +Inf 0x7f80", got)
	}
}
