package app

import (
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/vugu/vugu/js"

	"chrysalis/core/pipeline"
	"chrysalis/core/tensor"
	"chrysalis/web/engine"
	"chrysalis/web/settings"
	"chrysalis/web/weights"
)

// State is everything the page shows.
type State struct {
	Index    *weights.Index
	Settings settings.Settings
	Notices  []string // URL parameters that were changed or refused
	PageURL  string   // the page's address without the query (for the embed code)
	Cores    int      // navigator.hardwareConcurrency
	Err      string   // the page cannot work at all (no model list)

	Load         Load
	Run          Run
	RunWhenReady bool // Run was pressed (or autorun set) before the model was ready
	Download     Download
	EmbedCode    string // shown once "Copy embed code" was pressed
	EmbedStatus  string

	// SchedulerConfig is the loaded model's scheduler_config.json.
	SchedulerConfig []byte
	// Final is the final samples ([B,C,H,W], model space) of the latest
	// finished run of the sample view: the forward view's x₀.
	Final     *tensor.Tensor
	FinalSeed uint64 // the seed of the run that made Final
	// ForwardNote says why images chosen for the forward view were not all read.
	ForwardNote string
	// Beta is the forward view's beta schedule, "" for the model's own.
	Beta     string
	Compare  CompareRun
	Training Training
}

// LoadPhase is where a model's files are.
type LoadPhase int

// The phases of loading a model.
const (
	Loading LoadPhase = iota // fetching, verifying, handing to a worker
	Ready
	LoadFailed
)

// Load is the loading of the selected model.
type Load struct {
	Model       string
	Phase       LoadPhase
	Done, Total int64 // bytes
	Err         string
}

// Phase is where a sampling run is.
type Phase int

// The phases of a run.
const (
	Idle Phase = iota
	Running
	Done
	Stopped
	Failed
)

var phaseNames = [...]string{"idle", "running", "done", "stopped", "failed"}

func (p Phase) String() string { return phaseNames[p] }

// Run is the latest sampling run.
type Run struct {
	ID          int
	Phase       Phase
	Settings    settings.Settings
	Workers     int
	Frames      int // (step, image) frames received
	Total       int // steps × batch
	Started     time.Time
	Elapsed     time.Duration // to the latest frame, or to the end
	WorkersDone int
	Memory      []int64 // each worker's wasm memory after the run, in bytes
	Note        string  // why it stopped or failed
	Entry       int     // 1 + the compare view's sampler this run is; 0 for a run of the sample view
	// Scrub is the index, in pipeline.GIFSteps(Settings.Steps), of the
	// kept step the viewer shows after the run.
	Scrub int
}

// Download is the PNG of a finished run.
type Download struct {
	RunID     int
	URL, Name string
	GIF       string // the animation of every step (pipeline.GIF), an object URL
}

// gifName is the animation's file name: the PNG's, ending in .gif.
func (d Download) gifName() string { return strings.TrimSuffix(d.Name, ".png") + ".gif" }

// Messages: what can happen to the state.
type (
	// Started is the page's start: the model list (or why there is none),
	// the page's URL and the number of cores.
	Started struct {
		Index   *weights.Index
		Err     error
		Query   url.Values
		PageURL string
		Cores   int
	}
	// LoadProgress reports bytes of the model's files.
	LoadProgress struct {
		Model       string
		Done, Total int64
	}
	// ModelLoaded says that a model's files were fetched and verified and
	// that a worker built the UNet from them, or why not.
	ModelLoaded struct {
		Model string
		Err   error
	}
	SetModel     string
	SetScheduler string
	SetSteps     string
	SetSeed      string
	SetBatch     string
	SetEta       string
	RandomSeed   uint64
	ToggleRun    struct{} // the Run/Stop button
	// Frame is one (step, image) frame of a run arriving from a worker.
	Frame struct{ RunID, Step, Steps, Image int }
	// WorkerDone says a worker finished its images of a run.
	WorkerDone struct {
		RunID, Worker int
		Memory        int64
	}
	// WorkerFailed says a worker's part of a run failed.
	WorkerFailed struct {
		RunID int
		Err   string
	}
	// PNGReady carries the finished run's PNG and GIF as object URLs.
	PNGReady struct {
		RunID          int
		URL, Name, GIF string
		Err            error
	}
	CopyEmbed   struct{}
	EmbedCopied struct{ OK bool }
	SetView     string
	// ScrubTo shows the finished run's kept step with this index.
	ScrubTo string
	SetT    string // the forward view's timestep
	SetBeta string // the forward view's beta schedule ("" the model's)
	// ToggleCompare is the compare view's Run/Stop button.
	ToggleCompare struct{}
	// ChooseImages is a file input's or a drop's FileList, for the train
	// view's images or (Forward) the forward view's x₀.
	ChooseImages struct {
		Files   js.Value
		Forward bool
	}
	// OwnImages are images a person chose for the forward view ([B,C,H,W]),
	// or why none could be read.
	OwnImages struct {
		X   *tensor.Tensor
		Err error
	}
	// TrainImages says how many of the chosen files were decoded, or why not.
	TrainImages struct {
		N   int
		Err error
	}
	SetTrainSteps string
	SetTrainBatch string
	ToggleTrain   struct{}
	ResetTrain    struct{}
	ExportTrain   struct{}
	// TrainStepped is one step's answer from the worker: the batch loss,
	// each image's loss and timestep, and the stages ([B,C,H,W] each, by
	// the names of trainStages).
	TrainStepped struct {
		Step   int
		Loss   float64
		Losses []float64
		T      []int
		Stages map[string]*tensor.Tensor
	}
	TrainFailed   struct{ Err string }
	TrainExported struct {
		URL string
		Err error
	}
	// RunImages carries the final samples of a finished run ([B,C,H,W]).
	RunImages struct {
		RunID int
		X     *tensor.Tensor
		Err   error
	}
)

// Commands: what the runner must do.
type (
	// LoadModel fetches the model's files and hands them to the workers,
	// starting Workers of them so that the first run does not wait for them.
	LoadModel struct {
		Model   weights.Model
		Workers int
	}
	// StartRun samples with these settings on Workers workers.
	StartRun struct {
		ID       int
		Settings settings.Settings
		Workers  int
	}
	// CancelRun stops a run; its late frames are ignored by ID.
	CancelRun struct{ ID int }
	// MakePNG makes the grid PNG and the GIF of a finished run.
	MakePNG struct {
		RunID int
		Name  string
	}
	// CopyText puts text on the clipboard.
	CopyText struct{ Text string }
	// TrainNext asks worker 0 for step Step on Batch images, first
	// starting the session with the seed when Start is set.
	TrainNext struct {
		Start       bool
		Seed        uint64
		Step, Batch int
	}
	// ShowStep sends the viewer the kept frames of a finished run's step.
	ShowStep struct{ RunID, Step int }
	// SendTrain sends worker 0 a message without a batch (train-reset, train-export).
	SendTrain struct{ Kind string }
	// CollectRun gathers a finished run's final samples into RunImages
	// (MakePNG does too).
	CollectRun struct{ RunID int }
)

// Update applies msg to s and returns the commands it calls for.
func Update(s *State, msg any, now time.Time) []any {
	switch m := msg.(type) {
	case Started:
		s.PageURL, s.Cores = m.PageURL, max(m.Cores, 1)
		s.Training = Training{Steps: DefaultTrainSteps, Batch: DefaultTrainBatch}
		if m.Err != nil {
			s.Err = "The model list could not be read: " + m.Err.Error()
			s.Settings, _ = settings.Parse(m.Query, nil)
			return nil
		}
		s.Index = m.Index
		var notices []settings.Notice
		s.Settings, notices = settings.Parse(m.Query, m.Index.Names())
		for _, n := range notices {
			s.Notices = append(s.Notices, n.String())
		}
		s.RunWhenReady = s.Settings.Autorun || s.needsImages()
		return s.load()

	case LoadProgress:
		if m.Model == s.Load.Model && s.Load.Phase == Loading {
			s.Load.Done, s.Load.Total = m.Done, m.Total
		}

	case ModelLoaded:
		if m.Model != s.Load.Model || s.Load.Phase != Loading {
			return nil
		}
		if m.Err != nil {
			s.Load.Phase, s.Load.Err = LoadFailed, m.Err.Error()
			s.RunWhenReady = false
			return nil
		}
		s.Load.Phase = Ready
		if s.RunWhenReady || s.needsImages() {
			s.RunWhenReady = false
			return s.start(now)
		}

	case SetModel:
		if _, ok := s.model(string(m)); !ok || string(m) == s.Settings.Model {
			return nil
		}
		s.Settings.Model = string(m)
		// A new load drops the session with the worker's model, and the
		// images, which were read at the old model's size.
		s.Training = Training{Steps: s.Training.Steps, Batch: s.Training.Batch}
		return append(s.settingsChanged(), s.load()...)
	case SetScheduler:
		next := s.Settings.WithScheduler(string(m))
		if next == s.Settings {
			return nil
		}
		s.Settings = next
		return s.settingsChanged()
	case SetSteps:
		return s.setInt(string(m), &s.Settings.Steps, settings.ClampSteps)
	case SetBatch:
		return s.setInt(string(m), &s.Settings.Batch, settings.ClampBatch)
	case SetSeed:
		u, err := strconv.ParseUint(string(m), 10, 64)
		if err != nil || u == s.Settings.Seed {
			return nil
		}
		s.Settings.Seed = min(u, settings.MaxSeed)
		return s.settingsChanged()
	case RandomSeed:
		s.Settings.Seed = uint64(m) % (settings.MaxSeed + 1)
		return s.settingsChanged()
	case SetEta:
		e, err := strconv.ParseFloat(string(m), 64)
		if err != nil || settings.ClampEta(e) == s.Settings.Eta {
			return nil
		}
		s.Settings.Eta = settings.ClampEta(e)
		return s.settingsChanged()

	case ScrubTo:
		steps := s.scrubSteps()
		k, err := strconv.Atoi(string(m))
		if err != nil || len(steps) == 0 {
			return nil
		}
		s.Run.Scrub = min(max(k, 0), len(steps)-1)
		return []any{ShowStep{RunID: s.Run.ID, Step: steps[s.Run.Scrub]}}
	case SetView:
		if !settings.IsView(string(m)) || string(m) == s.Settings.View {
			return nil
		}
		s.Settings.View = string(m)
		s.EmbedCode, s.EmbedStatus = "", ""
		return s.sampleForForward(now)
	case SetT:
		if n, err := strconv.Atoi(string(m)); err == nil {
			s.Settings.T = min(max(n, 0), settings.MaxT)
			s.EmbedCode, s.EmbedStatus = "", ""
		}
	case SetBeta:
		if string(m) == "" || slices.Contains(BetaSchedules, string(m)) {
			s.Beta = string(m)
		}
	case ToggleCompare:
		switch {
		case s.Compare.Phase == Running:
			return s.stop("Stopped.")
		case s.Load.Phase != Ready:
			return nil
		}
		samplers, err := settings.ParseCompare(s.Settings.Compare)
		if err != nil { // Parse keeps only valid lists
			return nil
		}
		s.Compare = CompareRun{Phase: Running, Settings: s.Settings, Samplers: samplers, Results: make([]CompareResult, len(samplers))}
		return s.startCompare(0, now)
	case TrainImages:
		s.Training.Reading = false
		s.Training.Images, s.Training.Note = m.N, ""
		if m.Err != nil {
			s.Training.Note = m.Err.Error()
		}
	case OwnImages:
		s.ForwardNote = ""
		if m.Err != nil {
			s.ForwardNote = m.Err.Error()
		}
		if m.X != nil {
			s.Final, s.FinalSeed = m.X, s.Settings.Seed
		}
	case SetTrainSteps:
		if n, err := strconv.Atoi(string(m)); err == nil {
			s.Training.Steps = min(max(n, 1), MaxTrainSteps)
		}
	case SetTrainBatch:
		if n, err := strconv.Atoi(string(m)); err == nil {
			s.Training.Batch = min(max(n, 1), MaxTrainBatch)
		}
	case ToggleTrain:
		tr := &s.Training
		switch {
		case tr.Phase == Running:
			tr.Phase, tr.Note = Stopped, fmt.Sprintf("Stopped after step %d.", tr.Step)
			return nil
		case tr.Images == 0 || s.Load.Phase != Ready || s.Run.Phase == Running:
			return nil
		}
		// The export of older weights goes; the runner revokes its URL when
		// it makes the next one.
		tr.Phase, tr.Note, tr.Target, tr.Started, tr.Elapsed, tr.Download = Running, "", tr.Step+tr.Steps, now, 0, ""
		start := !tr.Session
		tr.Session = true
		return []any{TrainNext{Start: start, Seed: s.Settings.Seed, Step: tr.Step + 1, Batch: tr.Batch}}
	case TrainStepped:
		tr := &s.Training
		if !tr.Session || m.Step != tr.Step+1 {
			return nil
		}
		tr.Step, tr.Last, tr.Elapsed = m.Step, m, now.Sub(tr.Started)
		tr.Losses = append(tr.Losses, m.Loss)
		for i, l := range m.Losses {
			tr.Points = append(tr.Points, LossPoint{T: m.T[i], Loss: l})
		}
		switch {
		case tr.Phase != Running:
		case tr.Step < tr.Target:
			return []any{TrainNext{Step: tr.Step + 1, Batch: tr.Batch}}
		default:
			tr.Phase = Done
		}
	case TrainFailed:
		s.Training.Phase, s.Training.Note, s.Training.Exporting = Failed, m.Err, false
	case ResetTrain:
		if s.Training.Phase == Running || !s.Training.Session {
			return nil
		}
		s.Training = Training{Images: s.Training.Images, Steps: s.Training.Steps, Batch: s.Training.Batch}
		return []any{SendTrain{Kind: engine.KindTrainReset}}
	case ExportTrain:
		if !s.Training.Session || s.Training.Phase == Running || s.Training.Exporting {
			return nil
		}
		s.Training.Exporting = true
		return []any{SendTrain{Kind: engine.KindTrainExport}}
	case TrainExported:
		s.Training.Exporting = false
		if m.Err != nil {
			s.Training.Phase, s.Training.Note = Failed, "The model could not be exported: "+m.Err.Error()
			return nil
		}
		s.Training.Download = m.URL

	case RunImages:
		if m.RunID != s.Run.ID {
			return nil
		}
		if m.Err != nil {
			s.Run.Phase, s.Run.Note = Failed, m.Err.Error()
			if s.Run.Entry > 0 {
				s.Compare.Phase, s.Compare.Note = Failed, m.Err.Error()
			}
			return nil
		}
		if k := s.Run.Entry - 1; k >= 0 {
			s.Compare.Results[k] = CompareResult{Phase: Done, Elapsed: s.Run.Elapsed, X: m.X}
			if k+1 < len(s.Compare.Samplers) {
				return s.startCompare(k+1, now)
			}
			s.Compare.Phase = Done
			return nil
		}
		s.Final, s.FinalSeed = m.X, s.Run.Settings.Seed

	case ToggleRun:
		switch {
		case s.Run.Phase == Running:
			return s.stop("Stopped.")
		case s.Training.Phase == Running:
			return nil
		case s.Index == nil:
			return nil
		case s.Load.Phase == Ready:
			return s.start(now)
		case s.Load.Phase == LoadFailed:
			s.RunWhenReady = true
			return s.load()
		default:
			s.RunWhenReady = !s.RunWhenReady
		}

	case Frame:
		if m.RunID != s.Run.ID || s.Run.Phase != Running {
			return nil
		}
		s.Run.Frames++
		s.Run.Elapsed = now.Sub(s.Run.Started)
	case WorkerDone:
		if m.RunID != s.Run.ID || s.Run.Phase != Running {
			return nil
		}
		if m.Worker >= 0 && m.Worker < len(s.Run.Memory) {
			s.Run.Memory[m.Worker] = m.Memory
		}
		if s.Run.WorkersDone++; s.Run.WorkersDone < s.Run.Workers {
			return nil
		}
		s.Run.Phase, s.Run.Elapsed = Done, now.Sub(s.Run.Started)
		s.Run.Scrub = len(pipeline.GIFSteps(s.Run.Settings.Steps)) - 1
		if s.Run.Entry > 0 {
			return []any{CollectRun{RunID: s.Run.ID}}
		}
		r := s.Run.Settings
		return []any{MakePNG{RunID: s.Run.ID, Name: fmt.Sprintf("chrysalis-%s-%s-%dsteps-seed%d.png", r.Model, r.Scheduler, r.Steps, r.Seed)}}
	case WorkerFailed:
		if m.RunID != s.Run.ID || s.Run.Phase != Running {
			return nil
		}
		s.Run.Phase, s.Run.Note = Failed, m.Err
		if s.Run.Entry > 0 {
			s.Compare.Phase, s.Compare.Note = Failed, m.Err
		}
		return []any{CancelRun{ID: s.Run.ID}}
	case PNGReady:
		if m.RunID != s.Run.ID {
			return nil
		}
		if m.Err != nil {
			s.Run.Phase, s.Run.Note = Failed, "The PNG could not be made: "+m.Err.Error()
			return nil
		}
		s.Download = Download{RunID: m.RunID, URL: m.URL, Name: m.Name, GIF: m.GIF}

	case CopyEmbed:
		s.EmbedCode = settings.EmbedCode(s.PageURL, s.Settings)
		s.EmbedStatus = ""
		return []any{CopyText{Text: s.EmbedCode}}
	case EmbedCopied:
		if m.OK {
			s.EmbedStatus = "Copied to the clipboard."
		} else {
			s.EmbedStatus = "Select the code above and copy it."
		}
	}
	return nil
}

func (s *State) model(name string) (weights.Model, bool) {
	if s.Index == nil {
		return weights.Model{}, false
	}
	return s.Index.Model(name)
}

// load starts loading the selected model.
func (s *State) load() []any {
	m, ok := s.model(s.Settings.Model)
	if !ok {
		return nil
	}
	s.Load = Load{Model: m.Name, Phase: Loading}
	return []any{LoadModel{Model: m, Workers: s.workers(s.Settings.Batch)}}
}

// start begins a run with the current settings.
func (s *State) start(now time.Time) []any {
	s.Download = Download{}
	return s.startWith(s.Settings, 0, now)
}

// startWith begins a run with settings rs, for compare entry entry (1-based;
// 0 for the sample view).
func (s *State) startWith(rs settings.Settings, entry int, now time.Time) []any {
	workers := s.workers(rs.Batch)
	if s.Training.Session {
		workers = 1 // only worker 0 holds the fine-tuned weights
	}
	s.Run = Run{
		ID:       s.Run.ID + 1,
		Phase:    Running,
		Settings: rs,
		Workers:  workers,
		Total:    rs.Steps * rs.Batch,
		Started:  now,
		Memory:   make([]int64, workers),
		Entry:    entry,
	}
	return []any{StartRun{ID: s.Run.ID, Settings: rs, Workers: workers}}
}

// startCompare runs the comparison's sampler k.
func (s *State) startCompare(k int, now time.Time) []any {
	s.Compare.Results[k].Phase = Running
	return s.startWith(s.Compare.runsFor(k), k+1, now)
}

// scrubSteps is the steps a finished run of the sample view kept (the GIF's:
// every step up to 100), none otherwise.
func (s *State) scrubSteps() []int {
	if s.Run.Phase != Done || s.Run.Entry != 0 {
		return nil
	}
	return pipeline.GIFSteps(s.Run.Settings.Steps)
}

// needsImages says whether the forward view waits for images to add noise
// to: the final samples of a run of the current settings.
func (s *State) needsImages() bool {
	return s.Settings.View == "forward" && s.Final == nil && s.Run.Phase != Running
}

// sampleForForward starts the run whose images the forward view needs, now
// or once the model is ready.
func (s *State) sampleForForward(now time.Time) []any {
	if !s.needsImages() {
		return nil
	}
	if s.Load.Phase == Ready {
		return s.start(now)
	}
	s.RunWhenReady = true
	return nil
}

// workers is the number of workers for batch images: min(cores, batch).
func (s *State) workers(batch int) int { return min(max(s.Cores, 1), batch) }

// stop cancels the running run (and so the comparison it belongs to).
func (s *State) stop(note string) []any {
	s.Run.Phase, s.Run.Note = Stopped, note
	if s.Run.Entry > 0 {
		s.Compare.Phase, s.Compare.Note = Stopped, note
		s.Compare.Results[s.Run.Entry-1].Phase = Stopped
	}
	return []any{CancelRun{ID: s.Run.ID}}
}

// settingsChanged stops a run that no longer matches the controls and
// withdraws the embed code of the old settings.
func (s *State) settingsChanged() []any {
	s.EmbedCode, s.EmbedStatus = "", ""
	if s.Run.Phase == Running {
		return s.stop("Stopped: the settings changed. Press Run to sample with the new ones.")
	}
	return nil
}

func (s *State) setInt(v string, field *int, clamp func(int) int) []any {
	n, err := strconv.Atoi(v)
	if err != nil || clamp(n) == *field {
		return nil
	}
	*field = clamp(n)
	return s.settingsChanged()
}
