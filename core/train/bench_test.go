package train

import (
	"os"
	"path/filepath"
	"testing"

	"chrysalis/core/golden"
	"chrysalis/core/tensor"
	"chrysalis/core/unet"
)

// BenchmarkTrainStep measures training throughput (images/s) on the default
// model's config (butterflies-32: 4.6M parameters, 32x32) at batch 16: the
// forward pass, the backward pass, clipping, AdamW and the EMA, on all cores.
//
//	go test -run '^$' -bench TrainStep -benchtime 5x ./core/train
func BenchmarkTrainStep(b *testing.B) {
	data, err := os.ReadFile(filepath.Join(golden.Model(b, "butterflies-32"), "config.json"))
	if err != nil {
		b.Fatal(err)
	}
	cfg, err := unet.ParseConfig(data)
	if err != nil {
		b.Fatal(err)
	}
	m, err := Init(cfg, 0)
	if err != nil {
		b.Fatal(err)
	}
	const batch = 16
	t := &Trainer{o: DefaultOptions(), cfg: cfg, schedConfig: []byte(schedulerConfig), model: m, params: m.Parameters()}
	t.o.Batch = batch
	if t.obj, err = NewObjective(t.schedConfig); err != nil {
		b.Fatal(err)
	}
	t.data = &Dataset{}
	for i := range batch {
		x := tensor.New(3, 32, 32)
		for j := range x.Data {
			x.Data[j] = float32((i+j)%7)/3 - 1
		}
		t.data.Names = append(t.data.Names, "synthetic")
		t.data.Images = append(t.data.Images, x)
		t.train = append(t.train, i)
	}
	t.opt, t.ema = NewAdamW(t.params, 0.01), NewEMA(t.params, 0.999)
	if err := t.finishSetup(); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		if _, err := t.trainStep(t.batch(t.step), 1000); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*batch)/b.Elapsed().Seconds(), "images/s")
}
