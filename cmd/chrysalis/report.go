package main

import (
	"fmt"
	"image/color"
	"io"
	"math"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"

	"chrysalis/core/train"
)

// plotReport draws a training run's loss curves as a PNG (train's
// Options.Plot, for report.png): the loss of every step, the mean of every
// epoch, and the evaluation loss of the EMA weights with its 95% confidence
// interval, on a log scale once the loss spans a decade.
func plotReport(w io.Writer, r train.Report) error {
	p := plot.New()
	p.Title.Text = "Training loss"
	p.X.Label.Text = "step"
	p.Y.Label.Text = "MSE on the model's target (" + r.PredictionType + ")"
	p.Add(plotter.NewGrid())
	steps := make(plotter.XYs, 0, len(r.StepLoss))
	for i, l := range r.StepLoss {
		if l > 0 {
			steps = append(steps, plotter.XY{X: float64(i + 1), Y: float64(l)})
		}
	}
	if len(steps) > 0 {
		line, err := plotter.NewLine(steps)
		if err != nil {
			return err
		}
		line.Color = color.Gray{Y: 190}
		p.Add(line)
		p.Legend.Add("step", line)
	}
	if len(r.Epochs) > 0 {
		mean := make(plotter.XYs, len(r.Epochs))
		floor := math.Inf(1) // half the smallest value drawn
		for i, e := range r.Epochs {
			mean[i] = plotter.XY{X: float64(e.Step), Y: e.Loss}
			floor = min(floor, e.Loss/2, e.Eval/2)
		}
		ev := evalBars{r.Epochs, floor}
		line, points, err := plotter.NewLinePoints(mean)
		if err != nil {
			return err
		}
		line.Color, points.Color = color.RGBA{R: 40, G: 90, B: 200, A: 255}, color.RGBA{R: 40, G: 90, B: 200, A: 255}
		evPoints, err := plotter.NewScatter(ev)
		if err != nil {
			return err
		}
		bars, err := plotter.NewYErrorBars(ev)
		if err != nil {
			return err
		}
		red := color.RGBA{R: 210, G: 50, B: 40, A: 255}
		evPoints.Color, bars.Color = red, red
		p.Add(line, points, bars, evPoints)
		p.Legend.Add("epoch mean", line, points)
		p.Legend.Add(fmt.Sprintf("eval (EMA, %d images, 95%% CI)", r.EvalImages), evPoints)
	}
	// A log axis once the loss spans a decade (a long run, 1 → 0.04);
	// before that it would show a single labelled tick.
	if p.Y.Max > 10*p.Y.Min && p.Y.Min > 0 {
		p.Y.Scale, p.Y.Tick.Marker = plot.LogScale{}, plot.LogTicks{}
	}
	p.Legend.Top = true
	wt, err := p.WriterTo(8*vg.Inch, 5*vg.Inch, "png")
	if err != nil {
		return err
	}
	_, err = wt.WriteTo(w)
	return err
}

// evalBars plots the evaluation losses at their steps with their intervals.
// A loss is positive, and the y axis may be logarithmic, so an interval
// that reaches below floor (a small evaluation set) is drawn down to floor.
type evalBars struct {
	e     []train.EpochLog
	floor float64
}

func (b evalBars) Len() int                    { return len(b.e) }
func (b evalBars) XY(i int) (float64, float64) { return float64(b.e[i].Step), b.e[i].Eval }
func (b evalBars) YError(i int) (float64, float64) {
	e := b.e[i]
	return e.Eval - max(e.EvalLow, b.floor), e.EvalHigh - e.Eval
}
