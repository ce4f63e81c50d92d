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
	"chrysalis/core/tensor"
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

// ExampleFineTune takes three fine-tuning steps of a very small model on two
// images (a red and a blue square, in [-1, 1]) and exports the weights as a
// diffusers folder.
func ExampleFineTune() {
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
	f, err := train.NewFineTune(model, train.DefaultSchedulerConfig, train.DefaultFineTuneOptions())
	if err != nil {
		panic(err)
	}
	var images []*tensor.Tensor
	for _, rgb := range [][3]float32{{0.6, -0.7, -0.7}, {-0.7, -0.7, 0.6}} {
		x := tensor.New(3, 16, 16)
		for c := range 3 {
			for p := range 16 * 16 {
				x.Data[c*256+p] = rgb[c]
			}
		}
		images = append(images, x)
	}
	for range 3 {
		r, err := f.Step(images)
		if err != nil {
			panic(err)
		}
		fmt.Printf("step %d: t = %d, %d; x_t %v; loss %.4f\n", r.Step, r.Images[0].T, r.Images[1].T, r.Images[0].XT.Shape, r.Loss)
	}
	files, err := f.Files()
	if err != nil {
		panic(err)
	}
	fmt.Println(len(files), "files")
	// Output:
	// step 1: t = 974, 968; x_t [3 16 16]; loss 0.5434
	// step 2: t = 669, 935; x_t [3 16 16]; loss 0.6264
	// step 3: t = 173, 922; x_t [3 16 16]; loss 0.8631
	// 3 files
}
