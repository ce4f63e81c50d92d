package train

import (
	"bufio"
	"context"
	"fmt"
	"image/color"
	"image/png"
	"io"
	"math"
	"path/filepath"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"

	"chrysalis/core/pipeline"
	"chrysalis/core/safetensors"
	"chrysalis/core/scheduler"
	"chrysalis/core/tensor"
)

// history is what a run has measured: the loss of every step and a summary
// of every epoch. It is saved in the checkpoint.
type history struct {
	StepLoss []float32
	Epochs   []epochLog
}

// epochLog summarises an epoch: its mean training loss, the training time
// so far, and the evaluation of the EMA weights at its end.
type epochLog struct {
	Epoch, Step             int
	Loss, Seconds           float64
	Eval, EvalLow, EvalHigh float64
}

// epochFields is the number of values of an epochLog in the checkpoint.
const epochFields = 7

func (h history) entries() []safetensors.Entry {
	var out []safetensors.Entry
	if len(h.StepLoss) > 0 {
		out = append(out, safetensors.Entry{Name: "history/step_loss", Tensor: tensor.From(h.StepLoss, len(h.StepLoss))})
	}
	if len(h.Epochs) > 0 {
		e := tensor.New(len(h.Epochs), epochFields)
		for i, l := range h.Epochs {
			copy(e.Data[i*epochFields:], []float32{float32(l.Epoch), float32(l.Step), float32(l.Loss), float32(l.Seconds),
				float32(l.Eval), float32(l.EvalLow), float32(l.EvalHigh)})
		}
		out = append(out, safetensors.Entry{Name: "history/epochs", Tensor: e})
	}
	return out
}

func readHistory(f *safetensors.File) (history, error) {
	var h history
	if _, ok := f.Info("history/step_loss"); ok {
		t, err := f.Tensor("history/step_loss")
		if err != nil {
			return h, err
		}
		h.StepLoss = t.Data
	}
	if _, ok := f.Info("history/epochs"); ok {
		t, err := f.Tensor("history/epochs")
		if err != nil {
			return h, err
		}
		if len(t.Shape) != 2 || t.Shape[1] != epochFields {
			return h, fmt.Errorf("history/epochs has shape %v, want [k %d]", t.Shape, epochFields)
		}
		for i := range t.Shape[0] {
			v := t.Data[i*epochFields : (i+1)*epochFields]
			h.Epochs = append(h.Epochs, epochLog{Epoch: int(v[0]), Step: int(v[1]), Loss: float64(v[2]), Seconds: float64(v[3]),
				Eval: float64(v[4]), EvalLow: float64(v[5]), EvalHigh: float64(v[6])})
		}
	}
	return h, nil
}

// writeReport rewrites loss.tsv (one line per epoch) and report.png: the
// loss of every step, the mean of every epoch, and the evaluation loss of
// the EMA weights with its 95% confidence interval, on a log scale.
func (t *Trainer) writeReport() error {
	err := writeFile(filepath.Join(t.o.Out, "loss.tsv"), func(w io.Writer) error {
		b := bufio.NewWriter(w)
		fmt.Fprintln(b, "epoch\tstep\tloss\tseconds\teval\teval_low\teval_high")
		for _, e := range t.history.Epochs {
			fmt.Fprintf(b, "%d\t%d\t%.5f\t%.0f\t%.5f\t%.5f\t%.5f\n", e.Epoch, e.Step, e.Loss, e.Seconds, e.Eval, e.EvalLow, e.EvalHigh)
		}
		return b.Flush()
	})
	if err != nil {
		return err
	}

	p := plot.New()
	p.Title.Text = "Training loss"
	p.X.Label.Text = "step"
	p.Y.Label.Text = "MSE on the model's target (" + t.obj.PredictionType + ")"
	p.Add(plotter.NewGrid())
	steps := make(plotter.XYs, 0, len(t.history.StepLoss))
	for i, l := range t.history.StepLoss {
		if l > 0 {
			steps = append(steps, plotter.XY{X: float64(i + 1), Y: float64(l)})
		}
	}
	if len(steps) > 0 {
		line, err := plotter.NewLine(steps)
		if err != nil {
			return fmt.Errorf("train: report: %w", err)
		}
		line.Color = color.Gray{Y: 190}
		p.Add(line)
		p.Legend.Add("step", line)
	}
	if len(t.history.Epochs) > 0 {
		mean := make(plotter.XYs, len(t.history.Epochs))
		floor := math.Inf(1) // half the smallest value drawn
		for i, e := range t.history.Epochs {
			mean[i] = plotter.XY{X: float64(e.Step), Y: e.Loss}
			floor = min(floor, e.Loss/2, e.Eval/2)
		}
		ev := evalBars{t.history.Epochs, floor}
		line, points, err := plotter.NewLinePoints(mean)
		if err != nil {
			return fmt.Errorf("train: report: %w", err)
		}
		line.Color, points.Color = color.RGBA{R: 40, G: 90, B: 200, A: 255}, color.RGBA{R: 40, G: 90, B: 200, A: 255}
		evPoints, err := plotter.NewScatter(ev)
		if err != nil {
			return fmt.Errorf("train: report: %w", err)
		}
		bars, err := plotter.NewYErrorBars(ev)
		if err != nil {
			return fmt.Errorf("train: report: %w", err)
		}
		red := color.RGBA{R: 210, G: 50, B: 40, A: 255}
		evPoints.Color, bars.Color = red, red
		p.Add(line, points, bars, evPoints)
		p.Legend.Add("epoch mean", line, points)
		p.Legend.Add(fmt.Sprintf("eval (EMA, %d images, 95%% CI)", len(t.eval)), evPoints)
	}
	// A log axis once the loss spans a decade (a long run, 1 → 0.04);
	// before that it would show a single labelled tick.
	if p.Y.Max > 10*p.Y.Min && p.Y.Min > 0 {
		p.Y.Scale, p.Y.Tick.Marker = plot.LogScale{}, plot.LogTicks{}
	}
	p.Legend.Top = true
	wt, err := p.WriterTo(8*vg.Inch, 5*vg.Inch, "png")
	if err != nil {
		return fmt.Errorf("train: report: %w", err)
	}
	return writeFile(filepath.Join(t.o.Out, "report.png"), func(w io.Writer) error {
		_, err := wt.WriteTo(w)
		return err
	})
}

// evalBars plots the evaluation losses at their steps with their intervals.
// A loss is positive, and the y axis may be logarithmic, so an interval
// that reaches below floor (a small evaluation set) is drawn down to floor.
type evalBars struct {
	e     []epochLog
	floor float64
}

func (b evalBars) Len() int                    { return len(b.e) }
func (b evalBars) XY(i int) (float64, float64) { return float64(b.e[i].Step), b.e[i].Eval }
func (b evalBars) YError(i int) (float64, float64) {
	e := b.e[i]
	return e.Eval - max(e.EvalLow, b.floor), e.EvalHigh - e.Eval
}

// Sample grids: DDIM with sampleSteps steps from the EMA weights, the first
// sampleCount images of seed 0, so that grids of different epochs start
// from the same noise.
const (
	sampleSteps = 25
	sampleCount = 16
)

// writeSamples draws the sample grid of an epoch into samples/ and returns
// its path.
func (t *Trainer) writeSamples(ctx context.Context, epoch int) (string, error) {
	sched, err := scheduler.FromConfig(t.schedConfig, scheduler.DDIM, scheduler.Options{})
	if err != nil {
		return "", fmt.Errorf("train: samples: %w", err)
	}
	p := pipeline.Pipeline{UNet: t.emaModel, Scheduler: sched}
	x, err := p.Sample(ctx, pipeline.Options{Steps: sampleSteps, Batch: sampleCount})
	if err != nil {
		return "", fmt.Errorf("train: samples: %w", err)
	}
	imgs, err := pipeline.Images(x)
	if err != nil {
		return "", fmt.Errorf("train: samples: %w", err)
	}
	grid, err := pipeline.Grid(imgs)
	if err != nil {
		return "", fmt.Errorf("train: samples: %w", err)
	}
	path := filepath.Join(t.o.Out, "samples", fmt.Sprintf("epoch_%04d.png", epoch))
	return path, writeFile(path, func(w io.Writer) error { return png.Encode(w, grid) })
}
