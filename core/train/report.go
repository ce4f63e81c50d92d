package train

import (
	"bufio"
	"context"
	"fmt"
	"image/png"
	"io"
	"path/filepath"

	"chrysalis/core/pipeline"
	"chrysalis/core/safetensors"
	"chrysalis/core/scheduler"
	"chrysalis/core/tensor"
)

// history is what a run has measured: the loss of every step and a summary
// of every epoch. It is saved in the checkpoint.
type history struct {
	StepLoss []float32
	Epochs   []EpochLog
}

// EpochLog summarises an epoch: its mean training loss, the training time
// so far, and the evaluation of the EMA weights at its end.
type EpochLog struct {
	Epoch, Step             int
	Loss, Seconds           float64
	Eval, EvalLow, EvalHigh float64
}

// epochFields is the number of values of an EpochLog in the checkpoint.
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
			h.Epochs = append(h.Epochs, EpochLog{Epoch: int(v[0]), Step: int(v[1]), Loss: float64(v[2]), Seconds: float64(v[3]),
				Eval: float64(v[4]), EvalLow: float64(v[5]), EvalHigh: float64(v[6])})
		}
	}
	return h, nil
}

// Report is what a run has measured so far, for Options.Plot to draw.
type Report struct {
	PredictionType string     // what the loss is measured on
	StepLoss       []float32  // the loss of every step (0 for steps of earlier sessions not recorded)
	Epochs         []EpochLog // one per finished epoch
	EvalImages     int        // the held-out images of every evaluation
}

// writeReport rewrites loss.tsv (one line per epoch) and, with Options.Plot,
// report.png.
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

	if t.o.Plot == nil {
		return nil
	}
	r := Report{PredictionType: t.obj.PredictionType, StepLoss: t.history.StepLoss, Epochs: t.history.Epochs, EvalImages: len(t.eval)}
	return writeFile(filepath.Join(t.o.Out, "report.png"), func(w io.Writer) error {
		if err := t.o.Plot(w, r); err != nil {
			return fmt.Errorf("train: report: %w", err)
		}
		return nil
	})
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
	p := pipeline.Pipeline{UNet: t.emaModel.Inference(), Scheduler: sched}
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
