package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"image"
	"io"
	"runtime"
	"sync"

	"chrysalis/core/pipeline"
	"chrysalis/core/quality"
	"chrysalis/core/scheduler"
	"chrysalis/core/tensor"
	"chrysalis/core/train"
)

const qualityHelp = `
With -samples N, eval also samples N images from the model (and from -vs)
and scores them against the -data images, both at the model's resolution
(the data resized as for training): KID (the unbiased MMD² with the cubic
kernel (xᵀy/d+1)³) and coverage (the share of data images with a sample
within their 5th-nearest-neighbour distance) on 8×8 RGB thumbnails in
[0, 1], each as mean ± sd over 100 subsets of half the smaller set, drawn
from -seed; and the hue histogram of the coloured pixels (chroma ≥ 0.2, 12
bins of 30°) with its total-variation distance from the data's (0: the same
colours, 1: none in common). Sampling uses -scheduler (default ddim) built
from each checkpoint's scheduler config, -steps (default 25 for ddim, as
"chrysalis sample" does) and -seed: image i is image i of "chrysalis sample
-seed S". -images DIR scores the images of DIR (the first N with -samples)
instead of sampling, e.g. another sampler's output or a held-out half of the
data. With -vs, the two models' KIDs are also compared on the same subsets
(the model's minus -vs's, with the range of 95% of the subsets'
differences). See package chrysalis/core/quality for the equations.
`

// qualityArgs are eval's sample-quality flags.
type qualityArgs struct {
	samples   int
	images    string
	scheduler string
	steps     int
	seed      uint64
}

func (q *qualityArgs) register(fs *flag.FlagSet) {
	fs.IntVar(&q.samples, "samples", 0, "images to sample from each model and score against -data (0: none)")
	fs.StringVar(&q.images, "images", "", "score this folder's images against -data instead of sampling")
	fs.StringVar(&q.scheduler, "scheduler", "ddim", "ddpm, ddim, dpm++2m or euler, for -samples")
	fs.IntVar(&q.steps, "steps", 0, "inference steps for -samples (default: per scheduler, as sample's)")
	fs.Uint64Var(&q.seed, "seed", 42, "seed of the samples and of the subsets")
}

// check validates the flags; set holds the flags given.
func (q *qualityArgs) check(set map[string]bool) error {
	switch {
	case q.samples < 0:
		return fmt.Errorf("eval: -samples %d: want at least 0", q.samples)
	case q.images != "" && set["vs"]:
		return errors.New("eval: -images replaces -model's samples; it cannot be compared with -vs's: give one")
	case q.images == "" && q.samples == 0 && (set["scheduler"] || set["steps"] || set["seed"]):
		return errors.New("eval: -scheduler, -steps and -seed apply to -samples")
	case q.images != "" && (set["scheduler"] || set["steps"]):
		return errors.New("eval: -scheduler and -steps apply to sampling, not to -images")
	case set["steps"] && q.steps < 1:
		return fmt.Errorf("eval: -steps %d: want at least 1", q.steps)
	}
	if _, err := scheduler.ClassFor(q.scheduler); err != nil {
		return fmt.Errorf("eval: -scheduler %q: want ddpm, ddim, dpm++2m or euler", q.scheduler)
	}
	if !set["steps"] {
		for _, s := range samplers {
			if s.name == q.scheduler {
				q.steps = s.steps
			}
		}
	}
	return nil
}

func (q *qualityArgs) wanted() bool { return q.samples > 0 || q.images != "" }

// qualityRow is one set of images scored against the data.
type qualityRow struct {
	label, source string
	imgs          []image.Image
	r             quality.Result
	hues          quality.Hues
	rough         quality.Estimate
}

// namedModel is a checkpoint and the folder it came from.
type namedModel struct {
	name string
	evalModel
}

// evalQuality samples each model (or reads -images), scores the images
// against the data set ds and prints the table.
func evalQuality(ctx context.Context, q qualityArgs, ds *train.Dataset, models []namedModel, e env) error {
	data, err := datasetImages(ds)
	if err != nil {
		return err
	}
	var rows []*qualityRow
	if q.images != "" {
		c := ds.Images[0].Shape
		d, err := train.LoadDataset(q.images, c[0], c[1], c[2])
		if err != nil {
			return fmt.Errorf("eval: -images: %w", err)
		}
		row := &qualityRow{label: "images", source: fmt.Sprintf("%s: %d images", q.images, len(d.Images))}
		if q.samples > 0 {
			if q.samples > len(d.Images) {
				return fmt.Errorf("eval: -samples %d: -images %s holds %d images", q.samples, q.images, len(d.Images))
			}
			d.Images = d.Images[:q.samples]
			row.source = fmt.Sprintf("%s: the first %d images", q.images, q.samples)
		}
		if row.imgs, err = datasetImages(d); err != nil {
			return err
		}
		rows = append(rows, row)
	} else {
		for i, m := range models {
			label := "model"
			if i > 0 {
				label = "vs"
			}
			imgs, err := sampleImages(ctx, m, q, e)
			if err != nil {
				return err
			}
			rows = append(rows, &qualityRow{label: label, imgs: imgs,
				source: fmt.Sprintf("%s: %d samples, %s %d steps, seed %d", m.name, q.samples, q.scheduler, q.steps, q.seed)})
		}
	}

	feats := func(imgs []image.Image) [][]float64 {
		f := make([][]float64, len(imgs))
		for i, img := range imgs {
			f[i] = quality.Thumbnail(img, quality.ThumbSide)
		}
		return f
	}
	dataFeats, dataHues := feats(data), quality.HueHistogram(data)
	for _, row := range rows {
		var err error
		if row.r, err = quality.Compare(dataFeats, feats(row.imgs), quality.Options{Seed: q.seed}); err != nil {
			return fmt.Errorf("eval: %s: %w", row.label, err)
		}
		row.hues = quality.HueHistogram(row.imgs)
		row.rough = quality.MeanRoughness(row.imgs)
	}
	printQuality(e.stdout, len(data), data[0].Bounds().Size(), dataHues, quality.MeanRoughness(data), rows)
	if len(rows) == 2 {
		d, err := quality.PairedKID(dataFeats, feats(rows[0].imgs), feats(rows[1].imgs), quality.Options{Seed: q.seed})
		if err != nil {
			return fmt.Errorf("eval: paired KID: %w", err)
		}
		fmt.Fprintf(e.stdout, "KID×10³ paired, model − vs: %.2f; 95%% of the %d subsets' differences in [%.2f, %.2f]\n",
			1e3*d.Mean, d.Subsets, 1e3*d.Lo, 1e3*d.Hi)
	}
	return nil
}

// datasetImages converts a data set's tensors to 8-bit images the way
// samples are converted, so that both are measured alike.
func datasetImages(ds *train.Dataset) ([]image.Image, error) {
	out := make([]image.Image, len(ds.Images))
	for i, x := range ds.Images {
		imgs, err := pipeline.Images(tensor.From(x.Data, append([]int{1}, x.Shape...)...))
		if err != nil {
			return nil, fmt.Errorf("eval: %s: %w", ds.Names[i], err)
		}
		out[i] = imgs[0]
	}
	return out, nil
}

// sampleChunk is the number of images one pipeline run samples.
const sampleChunk = 16

// sampleImages samples images 0 .. q.samples−1 of seed q.seed from m, in
// chunks of sampleChunk spread over GOMAXPROCS goroutines, each with its own
// scheduler. Image i does not depend on the chunking (see pipeline.Options).
func sampleImages(ctx context.Context, m namedModel, q qualityArgs, e env) ([]image.Image, error) {
	class, _ := scheduler.ClassFor(q.scheduler) // checked by check
	chunks := (q.samples + sampleChunk - 1) / sampleChunk
	scheds := make([]scheduler.Scheduler, min(runtime.GOMAXPROCS(0), chunks))
	for i := range scheds {
		s, err := scheduler.FromConfig(m.sched, class, scheduler.Options{})
		if err != nil {
			return nil, fmt.Errorf("eval: %s: -scheduler %s: %w", m.name, q.scheduler, err)
		}
		if n := len(s.AlphasCumprod()); q.steps > n {
			return nil, fmt.Errorf("eval: -steps %d: %s's scheduler has %d training timesteps", q.steps, m.name, n)
		}
		scheds[i] = s
	}
	unet := m.model.Inference() // shared by the goroutines
	out := make([]image.Image, q.samples)
	errs := make([]error, chunks)
	var (
		mu         sync.Mutex
		next, done int
		wg         sync.WaitGroup
	)
	for _, sched := range scheds {
		wg.Go(func() {
			p := &pipeline.Pipeline{UNet: unet, Scheduler: sched}
			for {
				mu.Lock()
				c := next
				next++
				mu.Unlock()
				if c >= chunks {
					return
				}
				first := c * sampleChunk
				o := pipeline.Options{Steps: q.steps, Seed: q.seed, First: first, Batch: min(sampleChunk, q.samples-first)}
				x, err := p.Sample(ctx, o)
				if err == nil {
					var imgs []*image.NRGBA
					if imgs, err = pipeline.Images(x); err == nil {
						for i, img := range imgs {
							out[first+i] = img
						}
					}
				}
				if err != nil {
					errs[c] = err
					return
				}
				if e.tty {
					mu.Lock()
					done += o.Batch
					fmt.Fprintf(e.stderr, "\rsampling %s: %d/%d images\x1b[K", m.name, done, q.samples)
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	if e.tty {
		fmt.Fprint(e.stderr, "\r\x1b[K")
	}
	for _, err := range errs {
		if err != nil {
			return nil, fmt.Errorf("eval: sampling %s: %w", m.name, err)
		}
	}
	return out, nil
}

// printQuality prints the quality table:
//
//	sample quality against 832 data images at 32×32 (8×8 RGB thumbnails in [0, 1]):
//	  model   static/models/butterflies-32: 256 samples, ddim 25 steps, seed 42
//	          KID×10³         coverage k=5   hue TV  chromatic  roughness
//	  data                                             9.3%   0.141 ± 0.031
//	  model     4.12 ± 0.80    0.712 ± 0.031  0.183    8.1%   0.162 ± 0.040
//	KID and coverage: mean ± sd over 100 subsets of 128 data images and 128 samples
//	roughness: mean |Laplacian| at 32×32 per image, mean ± sd
//	hue, % of the chromatic pixels (max−min ≥ 0.2) in 30° bins:
//	          red ora yel cha grn spr cya azu blu vio mag ros
//	  data     12  40 ...
func printQuality(w io.Writer, n int, size image.Point, dataHues quality.Hues, dataRough quality.Estimate, rows []*qualityRow) {
	fmt.Fprintf(w, "sample quality against %d data images at %d×%d (%d×%d RGB thumbnails in [0, 1]):\n",
		n, size.X, size.Y, quality.ThumbSide, quality.ThumbSide)
	for _, r := range rows {
		fmt.Fprintf(w, "  %-7s %s\n", r.label, r.source)
	}
	fmt.Fprintf(w, "  %-7s %-14s  %-13s  %-6s  %-9s  %s\n", "", "KID×10³", fmt.Sprintf("coverage k=%d", quality.CoverageK), "hue TV", "chromatic", "roughness")
	fmt.Fprintf(w, "  %-7s %-14s  %-13s  %-6s  %5.1f%%     %5.3f ± %.3f\n", "data", "", "", "", 100*dataHues.Chromatic, dataRough.Mean, dataRough.SD)
	for _, r := range rows {
		fmt.Fprintf(w, "  %-7s %6.2f ± %-5.2f  %5.3f ± %-5.3f  %-6.3f  %5.1f%%     %5.3f ± %.3f\n", r.label, 1e3*r.r.KID.Mean, 1e3*r.r.KID.SD,
			r.r.Coverage.Mean, r.r.Coverage.SD, quality.TotalVariation(r.hues, dataHues), 100*r.hues.Chromatic, r.rough.Mean, r.rough.SD)
	}
	fmt.Fprintf(w, "KID and coverage: mean ± sd over %d subsets of %d data images and %d samples\n",
		rows[0].r.Subsets, rows[0].r.Size, rows[0].r.Size)
	fmt.Fprintf(w, "roughness: mean |Laplacian| at %d×%d per image (quality.Roughness), mean ± sd\n", size.X, size.Y)
	fmt.Fprintf(w, "hue, %% of the chromatic pixels (max−min ≥ %g) in 30° bins:\n        ", quality.MinChroma)
	for _, name := range quality.HueNames {
		fmt.Fprintf(w, " %s", name)
	}
	fmt.Fprintln(w)
	hueLine := func(label string, h quality.Hues) {
		fmt.Fprintf(w, "  %-7s", label)
		for _, s := range h.Share {
			fmt.Fprintf(w, " %3.0f", 100*s)
		}
		fmt.Fprintln(w)
	}
	hueLine("data", dataHues)
	for _, r := range rows {
		hueLine(r.label, r.hues)
	}
}
