package pipeline_test

import (
	"context"
	"fmt"

	"chrysalis/core/checkpoint"
	"chrysalis/core/pipeline"
	"chrysalis/core/scheduler"
)

// Sample two images from the default model with DDIM in 5 steps, as
// `chrysalis sample -model ... -scheduler ddim -steps 5 -batch 2` does.
func Example() {
	ck, err := checkpoint.LoadDir("../../static/models/butterflies-32")
	if err != nil {
		fmt.Println(err)
		return
	}
	// The checkpoint's own scheduler is DDPM; build DDIM from its config, like
	// DDIMScheduler.from_config(pipe.scheduler.config).
	sched, err := scheduler.FromConfig(ck.SchedulerConfig, scheduler.DDIM, scheduler.Options{Eta: 0})
	if err != nil {
		fmt.Println(err)
		return
	}
	p := &pipeline.Pipeline{UNet: ck.UNet, Scheduler: sched}
	x, err := p.Sample(context.Background(), pipeline.Options{
		Steps: 5, Seed: 42, Batch: 2,
		OnStep: func(f pipeline.Frame) { fmt.Printf("step %d/%d t=%v\n", f.Index+1, f.Steps, f.Timestep) },
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	imgs, err := pipeline.Images(x) // diffusers' uint8 conversion
	if err != nil {
		fmt.Println(err)
		return
	}
	grid, err := pipeline.Grid(imgs) // then png.Encode(w, grid)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("sample", x.Shape, "grid", grid.Bounds().Size())
	// Output:
	// step 1/5 t=999
	// step 2/5 t=799
	// step 3/5 t=599
	// step 4/5 t=399
	// step 5/5 t=199
	// sample [2 3 32 32] grid (64,32)
}
