package app

import (
	"math"
	"os"
	"reflect"
	"testing"
	"time"

	"chrysalis/core/golden"
	"chrysalis/core/pipeline"
	"chrysalis/core/tensor"
)

// view=forward samples the images it needs as soon as the model is ready,
// and keeps the finished run's samples as x₀.
func TestForwardViewSamplesItsImages(t *testing.T) {
	s := start(t, "view=forward&batch=2&steps=3", 2)
	cmds := Update(s, ModelLoaded{Model: "butterflies-32"}, t0)
	if len(cmds) != 1 || cmds[0].(StartRun).Settings.Steps != 3 {
		t.Fatalf("ModelLoaded in the forward view: %v, want the run of its images", cmds)
	}
	for w := range 2 {
		Update(s, WorkerDone{RunID: 1, Worker: w}, t0)
	}
	x := tensor.New(2, 3, 4, 4)
	Update(s, RunImages{RunID: 1, X: x}, t0)
	if s.Final != x || s.FinalSeed != s.Settings.Seed {
		t.Errorf("the run's samples were not kept for the forward view")
	}
	if cmds := Update(s, SetView("sample"), t0); cmds != nil || s.Settings.View != "sample" {
		t.Errorf("SetView(sample): %v, view %s", cmds, s.Settings.View)
	}
	if cmds := Update(s, SetView("forward"), t0); cmds != nil {
		t.Errorf("back to the forward view with its images: %v, want nothing", cmds)
	}
	Update(s, SetT("4000"), t0)
	if s.Settings.T != 999 {
		t.Errorf("t = %d after 4000, want 999", s.Settings.T)
	}
}

// forwardProcess is √ᾱ_t·x₀ + √(1−ᾱ_t)·ε with ε the seed's x_T noise, and
// the beta schedules differ.
func TestForwardProcess(t *testing.T) {
	cfg, err := os.ReadFile(golden.Model(t, "butterflies-32") + "/scheduler_config.json")
	if err != nil {
		t.Fatal(err)
	}
	x0 := tensor.New(2, 3, 4, 4)
	for i := range x0.Data {
		x0.Data[i] = float32(i%7)/3 - 1
	}
	eps := tensor.New(2, 3, 4, 4)
	pipeline.NewSeeded(5, 0, 2).Fill(eps)
	var last float32
	for _, beta := range []string{"", "linear", "scaled_linear"} {
		f, err := forwardProcess(cfg, beta, x0, 5, 600)
		if err != nil {
			t.Fatal(err)
		}
		if f.AlphaBar == last || !(f.AlphaBar > 0 && f.AlphaBar < 1) {
			t.Errorf("%q: ᾱ_600 = %v (the schedule before gave %v)", beta, f.AlphaBar, last)
		}
		last = f.AlphaBar
		a, b := float32(math.Sqrt(float64(f.AlphaBar))), float32(math.Sqrt(float64(1-f.AlphaBar)))
		for i, v := range f.XT.Data {
			if want := a*x0.Data[i] + b*eps.Data[i]; math.Abs(float64(v-want)) > 1e-6 {
				t.Fatalf("%q: x_t[%d] = %v, want %v", beta, i, v, want)
			}
		}
	}
	if _, err := forwardProcess(cfg, "", x0, 5, 1000); err == nil {
		t.Error("t = 1000 of a 1000-step schedule was accepted")
	}
}

// The comparison runs its samplers one after another with the same seed and
// batch, keeping each one's samples and time; Stop ends it.
func TestCompareRunsInTurn(t *testing.T) {
	s := start(t, "view=compare&compare=ddpm:4,euler:2&batch=1&seed=3", 2)
	Update(s, ModelLoaded{Model: "butterflies-32"}, t0)
	cmds := Update(s, ToggleCompare{}, t0)
	first := cmds[0].(StartRun)
	if first.Settings.Scheduler != "ddpm" || first.Settings.Steps != 4 || first.Settings.Seed != 3 || first.Workers != 1 {
		t.Fatalf("the first run is %+v", first)
	}
	Update(s, WorkerDone{RunID: first.ID}, t0)
	x := tensor.New(1, 3, 2, 2)
	cmds = Update(s, RunImages{RunID: first.ID, X: x}, t0.Add(time.Second))
	second := cmds[0].(StartRun)
	if second.Settings.Scheduler != "euler" || second.Settings.Steps != 2 || s.Compare.Results[0].X != x {
		t.Fatalf("after the first: %+v, results %+v", second, s.Compare.Results)
	}
	if cmds := Update(s, ToggleCompare{}, t0); !reflect.DeepEqual(cmds, []any{CancelRun{ID: second.ID}}) || s.Compare.Phase != Stopped {
		t.Errorf("Stop: %v, phase %v", cmds, s.Compare.Phase)
	}
	if s.Final != nil {
		t.Error("a comparison's samples became the forward view's images")
	}
}

// Training takes the steps asked for, one message at a time; sampling then
// runs on worker 0 alone, which holds the fine-tuned weights.
func TestTrainingSteps(t *testing.T) {
	s := start(t, "view=train&batch=4", 2)
	Update(s, ModelLoaded{Model: "butterflies-32"}, t0)
	if cmds := Update(s, ToggleTrain{}, t0); cmds != nil {
		t.Fatalf("Train without images: %v", cmds)
	}
	Update(s, TrainImages{N: 3}, t0)
	Update(s, SetTrainSteps("2"), t0)
	Update(s, SetTrainBatch("2"), t0)
	cmds := Update(s, ToggleTrain{}, t0)
	if want := []any{TrainNext{Start: true, Seed: 42, Step: 1, Batch: 2}}; !reflect.DeepEqual(cmds, want) {
		t.Fatalf("Train: %v, want %v", cmds, want)
	}
	cmds = Update(s, TrainStepped{Step: 1, Loss: 0.5, Losses: []float64{0.4, 0.6}, T: []int{10, 900}}, t0)
	if want := []any{TrainNext{Step: 2, Batch: 2}}; !reflect.DeepEqual(cmds, want) {
		t.Fatalf("after step 1: %v, want %v", cmds, want)
	}
	if cmds := Update(s, TrainStepped{Step: 2, Loss: 0.3, Losses: []float64{0.2, 0.4}, T: []int{5, 500}}, t0); cmds != nil || s.Training.Phase != Done {
		t.Fatalf("after the last step: %v, phase %v", cmds, s.Training.Phase)
	}
	if len(s.Training.Points) != 4 || s.trainLosses() != "0.5,0.3" {
		t.Errorf("points %v, losses %s", s.Training.Points, s.trainLosses())
	}
	if got := trainBatch(2, 2, 3); !reflect.DeepEqual(got, []int{2, 0}) {
		t.Errorf("step 2's batch of 2 from 3 images is %v, want [2 0]", got)
	}
	Update(s, SetView("sample"), t0)
	if run := Update(s, ToggleRun{}, t0)[0].(StartRun); run.Workers != 1 {
		t.Errorf("a run after fine-tuning uses %d workers, want worker 0 alone", run.Workers)
	}
}
