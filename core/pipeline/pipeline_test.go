package pipeline

// The DDIM and DDPM pipeline traces are diffusers v0.31.0's own outputs, read
// through golden.Dir from the repository's test data; a missing file fails
// the test.

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"chrysalis/core/golden"
	"chrysalis/core/scheduler"
	"chrysalis/core/tensor"
)

// newScheduler builds class from the golden pipeline's DDPM config
// (DDPMScheduler(1000, "squaredcos_cap_v2"), epsilon).
func newScheduler(t testing.TB, class string) scheduler.Scheduler {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(golden.Dir(t), "pipeline", "ddpm10_scheduler_config.json"))
	if err != nil {
		t.Fatal(err)
	}
	s, err := scheduler.FromConfig(data, class, scheduler.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// fileNoise replays stored draws: z_T, then one tensor per step.
type fileNoise struct {
	t     testing.TB
	draws []*tensor.Tensor
}

func (n *fileNoise) Fill(x *tensor.Tensor) {
	if len(n.draws) == 0 {
		n.t.Fatal("fileNoise: no draws left")
	}
	if len(n.draws[0].Data) != len(x.Data) {
		n.t.Fatalf("fileNoise: draw of %d values for a tensor of %d", len(n.draws[0].Data), len(x.Data))
	}
	copy(x.Data, n.draws[0].Data)
	n.draws = n.draws[1:]
}

// slice returns entry k of a stacked [K, ...] tensor.
func slice(x *tensor.Tensor, k int) *tensor.Tensor {
	per := len(x.Data) / x.Shape[0]
	return tensor.From(x.Data[k*per:(k+1)*per], x.Shape[1:]...)
}

// TestGoldenPipeline runs diffusers' two pipeline traces on unet_tiny and
// compares every step. Tolerances (max abs): model outputs 1e-4 (the UNet's
// own golden tolerance), samples and predicted x0 1e-4 at every step, the
// final sample 1e-3 (issue 2); uint8 images may differ by ±1 in at most 0.1%
// of values.
func TestGoldenPipeline(t *testing.T) {
	f := golden.Open(t, "pipeline/trace.safetensors")
	xT := golden.Tensor(t, f, "x_T")
	m := golden.TinyUNet(t, nil)
	for _, c := range []struct {
		name, class string
	}{
		// DDIMPipeline converts the DDPM scheduler: DDIMScheduler.from_config, eta 0.
		{"ddim10_eta0", scheduler.DDIM},
		// DDPMPipeline; the scheduler's draw in step k is step_noise[k].
		{"ddpm10", scheduler.DDPM},
	} {
		t.Run(c.name, func(t *testing.T) {
			g := func(field string) *tensor.Tensor { return golden.Tensor(t, f, c.name+"/"+field) }
			noise := &fileNoise{t: t, draws: []*tensor.Tensor{xT}}
			stepNoise := tensor.New(10, 2, 3, 32, 32) // DDIM with eta 0 draws but does not use it
			if c.name == "ddpm10" {
				stepNoise = g("step_noise")
			}
			for k := 0; k < 10; k++ {
				noise.draws = append(noise.draws, slice(stepNoise, k))
			}
			wantT, _, err := f.Int64s(c.name + "/timesteps")
			if err != nil {
				t.Fatal(err)
			}
			samples, outputs, x0s := g("samples"), g("model_outputs"), g("pred_original")

			// The callback sees x_{k+1} and x̂0_k; the model output of step k is
			// recomputed from x_k (the pipeline's own, deterministic).
			var worst struct{ sample, output, x0 float64 }
			var gotT []float32
			prev := xT
			p := &Pipeline{UNet: m, Scheduler: newScheduler(t, c.class)}
			final, err := p.Sample(context.Background(), Options{Steps: 10, Batch: 2, Noise: noise, OnStep: func(fr Frame) {
				k := fr.Index
				gotT = append(gotT, fr.Timestep)
				eps, err := m.Forward(prev, []float32{fr.Timestep})
				if err != nil {
					t.Fatal(err)
				}
				worst.output = math.Max(worst.output, golden.MaxAbsDiff(eps.Data, slice(outputs, k).Data))
				worst.sample = math.Max(worst.sample, golden.MaxAbsDiff(fr.Sample.Data, slice(samples, k+1).Data))
				worst.x0 = math.Max(worst.x0, golden.MaxAbsDiff(fr.PredOriginal.Data, slice(x0s, k).Data))
				prev = fr.Sample.Clone()
			}})
			if err != nil {
				t.Fatal(err)
			}
			if len(gotT) != len(wantT) {
				t.Fatalf("%d steps, want %d", len(gotT), len(wantT))
			}
			for k := range wantT {
				if gotT[k] != float32(wantT[k]) {
					t.Errorf("timestep %d = %v, want %d", k, gotT[k], wantT[k])
				}
			}
			dFinal := golden.MaxAbsDiff(final.Data, slice(samples, 10).Data)
			t.Logf("max abs diff: model outputs %.3g, samples %.3g, pred_original %.3g, final sample %.3g",
				worst.output, worst.sample, worst.x0, dFinal)
			if worst.output > 1e-4 || worst.sample > 1e-4 || worst.x0 > 1e-4 {
				t.Errorf("per-step max abs diff over 1e-4: model outputs %g, samples %g, pred_original %g", worst.output, worst.sample, worst.x0)
			}
			if dFinal > 1e-3 {
				t.Errorf("final sample max abs diff %g, want <= 1e-3", dFinal)
			}

			// Images: float HWC within 1e-3 (half the sample's tolerance), uint8
			// ±1 on at most 0.1% of values.
			wantF := g("image_float_hwc")
			var dImg float64
			for n := 0; n < 2; n++ {
				for ch := 0; ch < 3; ch++ {
					for q := 0; q < 32*32; q++ {
						got := toUnit(final.Data[(n*3+ch)*32*32+q])
						dImg = math.Max(dImg, math.Abs(float64(got)-float64(wantF.Data[(n*32*32+q)*3+ch])))
					}
				}
			}
			if dImg > 1e-3 {
				t.Errorf("image_float_hwc max abs diff %g, want <= 1e-3", dImg)
			}
			imgs, err := Images(final)
			if err != nil {
				t.Fatal(err)
			}
			wantU, _, err := f.Uint8s(c.name + "/image_uint8_hwc")
			if err != nil {
				t.Fatal(err)
			}
			diffs := countByteDiffs(t, imgs, wantU, 1)
			t.Logf("image_float_hwc max abs diff %.3g; uint8: %d of %d values differ by 1", dImg, diffs, len(wantU))
			if diffs*1000 > len(wantU) {
				t.Errorf("%d of %d uint8 values differ, more than 0.1%%", diffs, len(wantU))
			}
		})
	}
}

// TestBatchSplit samples images [0, 4) of one seed in a single run and in
// runs of [0,2)+[2,4) and [0,1)+[1,4): every image must be bit-identical.
// DDPM uses the step noise, so the per-image streams are exercised fully.
func TestBatchSplit(t *testing.T) {
	m := golden.TinyUNet(t, nil)
	run := func(first, batch int) *tensor.Tensor {
		p := &Pipeline{UNet: m, Scheduler: newScheduler(t, scheduler.DDPM)}
		x, err := p.Sample(context.Background(), Options{Steps: 4, Seed: 7, First: first, Batch: batch})
		if err != nil {
			t.Fatal(err)
		}
		return x
	}
	full := run(0, 4)
	for _, split := range [][]int{{2, 2}, {1, 3}} {
		var parts []float32
		first := 0
		for _, b := range split {
			parts = append(parts, run(first, b).Data...)
			first += b
		}
		for k := range full.Data {
			if math.Float32bits(full.Data[k]) != math.Float32bits(parts[k]) {
				t.Fatalf("split %v: element %d (image %d) is %v, the full batch has %v", split, k, k/(3*32*32), parts[k], full.Data[k])
			}
		}
	}
	other := run(1, 1)
	if string(f32bytes(other.Data)) == string(f32bytes(full.Data[:3*32*32])) {
		t.Error("images 0 and 1 of a seed are identical")
	}
}

func f32bytes(x []float32) []byte {
	b := make([]byte, 0, 4*len(x))
	for _, v := range x {
		u := math.Float32bits(v)
		b = append(b, byte(u), byte(u>>8), byte(u>>16), byte(u>>24))
	}
	return b
}

// TestSeededNoise pins the stream layout: image j of seed s is PCG(s, j),
// NormFloat64 rounded to float32, z_T first, then one draw per step.
func TestSeededNoise(t *testing.T) {
	n := NewSeeded(3, 5, 2)
	x := tensor.New(2, 1, 2, 2)
	n.Fill(x) // z_T
	n.Fill(x) // step 0
	for j := 0; j < 2; j++ {
		r := rand.New(rand.NewPCG(3, uint64(5+j)))
		for k := 0; k < 4; k++ {
			r.NormFloat64()
		}
		for k := 0; k < 4; k++ {
			if want := float32(r.NormFloat64()); x.Data[4*j+k] != want {
				t.Errorf("image %d value %d of the second draw: %v, want %v", j, k, x.Data[4*j+k], want)
			}
		}
	}
}

// TestInitNoise: a given z_T replaces the seeded one, and the streams still
// advance past their own z_T, so passing the seeded z_T changes nothing.
func TestInitNoise(t *testing.T) {
	m := golden.TinyUNet(t, nil)
	run := func(init *tensor.Tensor) *tensor.Tensor {
		p := &Pipeline{UNet: m, Scheduler: newScheduler(t, scheduler.DDPM)}
		x, err := p.Sample(context.Background(), Options{Steps: 2, Seed: 1, Batch: 2, InitNoise: init})
		if err != nil {
			t.Fatal(err)
		}
		return x
	}
	zT := tensor.New(2, 3, 32, 32)
	NewSeeded(1, 0, 2).Fill(zT)
	seeded, given := run(nil), run(zT)
	if string(f32bytes(seeded.Data)) != string(f32bytes(given.Data)) {
		t.Error("InitNoise equal to the seeded z_T changed the result")
	}
	for k := range zT.Data {
		zT.Data[k] = -zT.Data[k]
	}
	if string(f32bytes(run(zT).Data)) == string(f32bytes(seeded.Data)) {
		t.Error("InitNoise was ignored")
	}
}

// TestNonFinite: weights that make the model output NaN or Inf stop the run
// with an error naming the step and timestep, and no sample is returned.
func TestNonFinite(t *testing.T) {
	for _, c := range []struct {
		value float32
		want  string
	}{
		{float32(math.NaN()), "pipeline: step 0 of 3 (t=666): model output has NaN at image 0"},
		{float32(math.Inf(1)), "pipeline: step 0 of 3 (t=666): model output has +Inf at image 0"},
	} {
		m := golden.TinyUNet(t, func(w map[string]*tensor.Tensor) { w["conv_out.bias"].Data[1] = c.value })
		p := &Pipeline{UNet: m, Scheduler: newScheduler(t, scheduler.DDIM)}
		steps := 0
		x, err := p.Sample(context.Background(), Options{Steps: 3, Batch: 1, OnStep: func(Frame) { steps++ }})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("bias %v: error %v, want it to contain %q", c.value, err, c.want)
		}
		if x != nil || steps != 0 {
			t.Errorf("bias %v: got a sample (%v) or %d frames after the error", c.value, x != nil, steps)
		}
	}
}

// TestCancel cancels the context during step 2: the run stops before step 3
// with ctx.Err().
func TestCancel(t *testing.T) {
	m := golden.TinyUNet(t, nil)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var frames []int
	p := &Pipeline{UNet: m, Scheduler: newScheduler(t, scheduler.DDIM)}
	x, err := p.Sample(ctx, Options{Steps: 10, Batch: 1, OnStep: func(f Frame) {
		frames = append(frames, f.Index)
		if f.Index == 2 {
			cancel()
		}
	}})
	if !errors.Is(err, context.Canceled) || x != nil {
		t.Errorf("Sample after cancel: %v, %v; want nil, context.Canceled", x, err)
	}
	if len(frames) != 3 {
		t.Errorf("frames %v, want [0 1 2]", frames)
	}
}

// TestFrames checks what the callback gets: every step in order, with the
// timesteps, and the last frame's sample is the result.
func TestFrames(t *testing.T) {
	m := golden.TinyUNet(t, nil)
	var frames []Frame
	p := &Pipeline{UNet: m, Scheduler: newScheduler(t, scheduler.DDIM)}
	x, err := p.Sample(context.Background(), Options{Steps: 4, Batch: 1, OnStep: func(f Frame) { frames = append(frames, f) }})
	if err != nil {
		t.Fatal(err)
	}
	wantT := []float32{750, 500, 250, 0}
	if len(frames) != len(wantT) {
		t.Fatalf("%d frames, want %d", len(frames), len(wantT))
	}
	for i, f := range frames {
		if f.Index != i || f.Steps != 4 || f.Timestep != wantT[i] {
			t.Errorf("frame %d: index %d steps %d t %v, want %d 4 %v", i, f.Index, f.Steps, f.Timestep, i, wantT[i])
		}
		if len(f.Sample.Shape) != 4 || len(f.PredOriginal.Shape) != 4 || f.PredOriginal.Shape[0] != 1 {
			t.Errorf("frame %d: shapes %v, %v", i, f.Sample.Shape, f.PredOriginal.Shape)
		}
	}
	if frames[3].Sample != x {
		t.Error("the last frame's sample is not the result")
	}
}

func TestOptionErrors(t *testing.T) {
	m := golden.TinyUNet(t, nil)
	for _, c := range []struct {
		o    Options
		want string
	}{
		{Options{Steps: 2, Batch: 0}, "pipeline: batch 0 is outside [1, "},
		{Options{Steps: 2, Batch: MaxBatch + 1}, "is outside [1, "},
		{Options{Steps: 2, Batch: 1, First: -1}, "first image index -1 is negative"},
		{Options{Steps: 0, Batch: 1}, "0 inference steps"},
		{Options{Steps: 1001, Batch: 1}, "1001 inference steps"},
		{Options{Steps: 2, Batch: 2, InitNoise: tensor.New(1, 3, 32, 32)}, "initial noise has shape [1 3 32 32], want [2 3 H W]"},
	} {
		p := &Pipeline{UNet: m, Scheduler: newScheduler(t, scheduler.DDIM)}
		_, err := p.Sample(context.Background(), c.o)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: error %v, want it to contain %q", c.o, err, c.want)
		}
	}
	nan := tensor.New(1, 3, 32, 32)
	nan.Data[7] = float32(math.NaN())
	p := &Pipeline{UNet: m, Scheduler: newScheduler(t, scheduler.DDIM)}
	if _, err := p.Sample(context.Background(), Options{Steps: 2, Batch: 1, InitNoise: nan}); err == nil ||
		!strings.Contains(err.Error(), "pipeline: initial noise has NaN at image 0 (element 7)") {
		t.Errorf("NaN initial noise: error %v", err)
	}
}
