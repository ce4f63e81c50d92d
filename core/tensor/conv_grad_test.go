package tensor

import (
	"fmt"
	"testing"
)

// ref64Conv is Conv2d in float64.
func ref64Conv(x []float64, xs []int, w []float64, ws []int, b []float64, s int, pad Padding) []float64 {
	n, cin, h, wd := xs[0], xs[1], xs[2], xs[3]
	cout, kh, kw := ws[0], ws[2], ws[3]
	ho := (h+pad.Top+pad.Bottom-kh)/s + 1
	wo := (wd+pad.Left+pad.Right-kw)/s + 1
	out := make([]float64, 0, n*cout*ho*wo)
	for bi := 0; bi < n; bi++ {
		for o := 0; o < cout; o++ {
			for y := 0; y < ho; y++ {
				for xo := 0; xo < wo; xo++ {
					acc := b[o]
					for c := 0; c < cin; c++ {
						for i := 0; i < kh; i++ {
							for j := 0; j < kw; j++ {
								iy, ix := y*s+i-pad.Top, xo*s+j-pad.Left
								if iy >= 0 && iy < h && ix >= 0 && ix < wd {
									acc += w[((o*cin+c)*kh+i)*kw+j] * x[((bi*cin+c)*h+iy)*wd+ix]
								}
							}
						}
					}
					out = append(out, acc)
				}
			}
		}
	}
	return out
}

// TestConv2dBackward covers every convolution of UNet2DModel: 3x3 same
// convs, the 1x1 conv_shortcut, the stride-2 Downsample2D conv with padding 1
// and with diffusers' asymmetric (0,1,0,1) padding, plus an odd size.
func TestConv2dBackward(t *testing.T) {
	cases := []struct {
		h, k, stride int
		pad          Padding
	}{
		{6, 3, 1, Padding{1, 1, 1, 1}},
		{6, 1, 1, Padding{}},
		{6, 3, 2, Padding{1, 1, 1, 1}},
		{6, 3, 2, Padding{Bottom: 1, Right: 1}},
		{5, 3, 2, Padding{1, 1, 1, 1}},
	}
	for ci, tc := range cases {
		name := fmt.Sprintf("%dx%d k%d s%d pad%v", tc.h, tc.h, tc.k, tc.stride, tc.pad)
		t.Run(name, func(t *testing.T) {
			const n, cin, cout = 2, 3, 4
			x := randTensor(uint64(100+ci), n, cin, tc.h, tc.h)
			w := randTensor(uint64(200+ci), cout, cin, tc.k, tc.k)
			b := randTensor(uint64(300+ci), cout)
			y := Conv2d(x, w, b.Data, tc.stride, tc.pad)
			dy := randTensor(uint64(400+ci), y.Shape...)
			x64, w64, b64, r := f64(x.Data), f64(w.Data), f64(b.Data), f64(dy.Data)
			f := func() []float64 { return ref64Conv(x64, x.Shape, w64, w.Shape, b64, tc.stride, tc.pad) }
			checkForward(t, "Conv2d", y.Data, f())

			// Start dw and db from non-zero values: the kernel adds into them.
			dw, db := randTensor(500, w.Shape...), randTensor(501, cout).Data
			dw0, db0 := dw.Clone(), append([]float32(nil), db...)
			dx := Conv2dBackward(x, w, dy, tc.stride, tc.pad, dw, db)
			for i := range dw.Data {
				dw.Data[i] -= dw0.Data[i]
			}
			for i := range db {
				db[i] -= db0[i]
			}
			checkGrad(t, "dx", dx.Data, numericGrad(x64, r, f))
			checkGrad(t, "dw", dw.Data, numericGrad(w64, r, f))
			checkGrad(t, "db", db, numericGrad(b64, r, f))
		})
	}
}
