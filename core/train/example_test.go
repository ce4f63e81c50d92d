package train_test

import (
	"context"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"

	"chrysalis/core/checkpoint"
	"chrysalis/core/train"
	"chrysalis/core/unet"
)

// Example trains a new, very small model for one epoch on two generated
// images and loads the diffusers folder it writes.
func Example() {
	dir, _ := os.MkdirTemp("", "example")
	defer os.RemoveAll(dir)
	data, out := filepath.Join(dir, "images"), filepath.Join(dir, "model")
	os.Mkdir(data, 0o755)
	for i, c := range []color.RGBA{{200, 40, 40, 255}, {40, 40, 200, 255}} {
		img := image.NewRGBA(image.Rect(0, 0, 16, 16))
		for p := range 16 * 16 {
			img.Set(p%16, p/16, c)
		}
		f, _ := os.Create(filepath.Join(data, fmt.Sprintf("%d.png", i)))
		png.Encode(f, img)
		f.Close()
	}

	cfg := unet.DefaultConfig()
	cfg.SampleSize = [2]int{16, 16}
	cfg.BlockOutChannels = []int{8, 16}
	cfg.DownBlockTypes = []string{"DownBlock2D", "AttnDownBlock2D"}
	cfg.UpBlockTypes = []string{"AttnUpBlock2D", "UpBlock2D"}
	cfg.LayersPerBlock, cfg.NormNumGroups = 1, 4
	model, err := train.Init(cfg, 0)
	if err != nil {
		panic(err)
	}
	o := train.DefaultOptions()
	o.Data, o.Out, o.Epochs, o.Batch, o.SampleEvery = data, out, 1, 2, 0
	t, err := train.New(model, train.DefaultSchedulerConfig, o)
	if err != nil {
		panic(err)
	}
	if err := t.Run(context.Background()); err != nil {
		panic(err)
	}
	ck, err := checkpoint.LoadDir(out)
	if err != nil {
		panic(err)
	}
	fmt.Println(len(ck.UNet.Parameters()), "tensors")
	// Output: 144 tensors
}
