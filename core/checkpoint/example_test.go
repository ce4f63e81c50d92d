package checkpoint_test

import (
	"fmt"
	"log"

	"chrysalis/core/checkpoint"
	"chrysalis/core/tensor"
)

// Load the shipped default model and predict the noise of one image at t=999.
func ExampleLoadDir() {
	ckpt, err := checkpoint.LoadDir("../../static/models/butterflies-32")
	if err != nil {
		log.Fatal(err)
	}
	cfg := ckpt.UNet.Config
	x := tensor.New(1, cfg.InChannels, cfg.SampleSize[0], cfg.SampleSize[1]) // x_t (a sampler starts from noise)
	pred, err := ckpt.UNet.Forward(x, []float32{999})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(pred.Shape, len(ckpt.SchedulerConfig) > 0)
	// Output: [1 3 32 32] true
}
