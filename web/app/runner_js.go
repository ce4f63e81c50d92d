//go:build js && wasm

package app

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image/gif"
	"image/png"
	"maps"
	"net/url"
	"slices"
	"strings"
	"syscall/js"
	"time"
	"unsafe"

	"chrysalis/core/pipeline"
	"chrysalis/core/scheduler"
	"chrysalis/core/tensor"
	"chrysalis/core/unet"
	"chrysalis/web/engine"
	"chrysalis/web/inbox"
	"chrysalis/web/promise"
	"chrysalis/web/settings"
	"chrysalis/web/weights"

	"github.com/vugu/vugu"
	"github.com/vugu/vugu/domrender"
)

// Main runs the page: it mounts the Vugu components into #app, reads the
// model list and the URL, and then owns the state for good. Every callback
// (DOM events, worker and viewer messages, fetch progress) posts to one
// inbox; this goroutine takes the messages in order, updates the state,
// carries out the commands and renders.
func Main() {
	doc := js.Global().Get("document")
	r := &runner{
		inbox:  inbox.New(),
		state:  &State{},
		loc:    js.Global().Get("location"),
		body:   doc.Get("body"),
		viewer: newViewer(doc.Call("getElementById", "viewer")),
	}
	dom, err := domrender.New("#app")
	if err != nil {
		panic(err)
	}
	r.dom = dom
	if r.build, err = vugu.NewBuildEnv(dom.EventEnv()); err != nil {
		panic(err)
	}
	r.page = &Page{State: r.state, Post: r.inbox.Post}
	r.pool = newPool(r.inbox)
	r.viewer.listen(r.inbox)
	go r.start()
	var drawn time.Time // the last render
	waiting := false    // a renderTick is on its way
	for range r.inbox.Ready() {
		for _, m := range r.inbox.Take() {
			if _, ok := m.(renderTick); ok {
				waiting = false
				continue
			}
			r.handle(m)
		}
		// During a run, frames arrive many times a second and change only
		// the progress: the page is drawn at most every renderGap, so that
		// the main thread leaves the cores to the workers.
		if since := time.Since(drawn); r.state.Run.Phase == Running && since < renderGap {
			if !waiting {
				waiting = true
				time.AfterFunc(renderGap-since, func() { r.inbox.Post(renderTick{}) })
			}
			continue
		}
		drawn = time.Now()
		r.render()
	}
}

// renderGap is the least time between two renders of the page during a run.
const renderGap = 250 * time.Millisecond

// renderTick asks for the render that renderGap held back.
type renderTick struct{}

type runner struct {
	inbox  *inbox.Inbox
	state  *State
	page   *Page
	dom    *domrender.JSRenderer
	build  *vugu.BuildEnv
	pool   *pool
	viewer *viewer
	loc    js.Value
	body   js.Value

	started bool
	query   string // the query last written to the address bar

	// The loaded model (the pool keeps its files for new workers) and what
	// the main thread needs of it: the schedule for the viewer, the image
	// shape for the PNG.
	model           string
	schedulerConfig []byte
	config          unet.Config
	stopLoad        context.CancelFunc

	// The current run: the latest frame of each image (for the viewer and,
	// after the last step, the PNG).
	runID     int
	frames    []js.Value
	gifFrames map[int][]js.Value // the frames of the steps the GIF shows (pipeline.GIFSteps), per image
	pngURL    string
	gifURL    string

	// What the viewer's preview of x_T shows (before the first run).
	previewed string

	// The train view's images, [C,H,W] each, and its export's object URL.
	trainImages []*tensor.Tensor
	trainURL    string
}

// start reads the model list and posts Started.
func (r *runner) start() {
	msg := Started{
		PageURL: r.loc.Get("origin").String() + r.loc.Get("pathname").String(),
		Cores:   js.Global().Get("navigator").Get("hardwareConcurrency").Int(),
	}
	msg.Query, _ = url.ParseQuery(strings.TrimPrefix(r.loc.Get("search").String(), "?"))
	data, err := fetchBytes(weights.IndexPath)
	if err == nil {
		msg.Index, err = weights.ParseIndex(data)
	}
	msg.Err = err
	r.inbox.Post(msg)
}

func (r *runner) handle(m any) {
	switch m := m.(type) {
	case workerMessage:
		r.workerMessage(m)
	case modelFetched:
		r.fetched(m)
	case viewerReady:
		r.viewer.ready()
	case Started:
		r.started = true
		r.update(m)
		r.body.Get("classList").Call("toggle", "embed", r.state.Settings.Embed)
		r.showView()
	case SetView:
		r.update(m)
		r.showView()
	case ChooseImages:
		r.readImages(js.Value(m.Files), m.Forward)
	case imagesRead:
		r.imagesRead(m)
	default:
		if id := CommittedControl(m); id != "" {
			r.page.Inputs.Committed = id
		}
		r.update(m)
	}
}

// showView marks <body> with the view (style.css hides the sampling
// viewer outside the sample view).
func (r *runner) showView() {
	for _, v := range settings.Views {
		r.body.Get("classList").Call("toggle", "view-"+v.Name, v.Name == r.state.Settings.View)
	}
}

func (r *runner) update(msg any) {
	for _, cmd := range Update(r.state, msg, time.Now()) {
		r.exec(cmd)
	}
}

func (r *runner) exec(cmd any) {
	switch c := cmd.(type) {
	case LoadModel:
		r.loadModel(c.Model, c.Workers)
	case StartRun:
		r.startRun(c)
	case CancelRun:
		r.pool.cancel(c.ID)
		r.viewer.post(map[string]any{"kind": "cancel", "runId": c.ID})
	case ShowStep:
		r.showStep(c)
	case TrainNext:
		r.trainNext(c)
	case SendTrain:
		r.pool.post(0, map[string]any{"kind": c.Kind})
	case CollectRun:
		r.collect(c.RunID)
	case MakePNG:
		url, err := r.makePNG(r.collect(c.RunID))
		gif, gifErr := r.makeGIF()
		r.inbox.Post(PNGReady{RunID: c.RunID, URL: url, Name: c.Name, GIF: gif, Err: errors.Join(err, gifErr)})
	case CopyText:
		go func() {
			_, err := promise.Await(js.Global().Get("navigator").Get("clipboard").Call("writeText", c.Text))
			r.inbox.Post(EmbedCopied{OK: err == nil})
		}()
	}
}

// render shows the state and mirrors the settings into the address bar.
func (r *runner) render() {
	if !r.started {
		return
	}
	err := r.dom.Render(r.build.RunBuild(r.page))
	r.page.Inputs.Committed = ""
	if err != nil {
		js.Global().Get("console").Call("error", "rendering the page: "+err.Error())
	}
	if q := "?" + r.state.Settings.Encode(); q != r.query && r.state.Index != nil {
		r.query = q
		js.Global().Get("history").Call("replaceState", nil, "", q)
	}
	r.preview()
}

// preview shows, until the first run, the noise x_T that Run would start
// from with the current settings, and their schedule, in the viewer.
func (r *runner) preview() {
	s := r.state.Settings
	if r.state.Run.ID != 0 || r.state.Load.Phase != Ready || r.model != s.Model {
		return
	}
	key := s.Encode()
	if key == r.previewed {
		return
	}
	r.previewed = key
	sched, _, err := r.schedule(s)
	if err != nil {
		return // Run will say why
	}
	c, h, w := r.config.OutChannels, r.config.SampleSize[0], r.config.SampleSize[1]
	noise := make([]any, s.Batch)
	for i, x := range startingNoise(s.Seed, s.Batch, c, h, w, sched.InitNoiseSigma()) {
		noise[i] = float32Array(x)
	}
	r.viewer.preview(map[string]any{
		"kind": "preview", "runId": 0, "batch": s.Batch, "channels": c, "height": h, "width": w,
		"steps": s.Steps, "timesteps": float32Array(sched.Timesteps()), "alphasCumprod": float32Array(sched.AlphasCumprod()),
		"seed": float64(s.Seed), "noise": noise,
	})
}

// schedule builds the scheduler of settings s from the loaded model's
// scheduler config, with its timesteps set, and the η it uses.
func (r *runner) schedule(s settings.Settings) (scheduler.Scheduler, float64, error) {
	class, err := scheduler.ClassFor(s.Scheduler)
	if err != nil {
		return nil, 0, err
	}
	eta := 0.0
	if s.Scheduler == "ddim" {
		eta = s.Eta
	}
	sched, err := scheduler.FromConfig(r.schedulerConfig, class, scheduler.Options{Eta: eta})
	if err == nil {
		err = sched.SetTimesteps(s.Steps)
	}
	if err != nil {
		return nil, 0, fmt.Errorf("%s with %d steps: %w", schedulerLabel(s.Scheduler), s.Steps, err)
	}
	return sched, eta, nil
}

// loadModel fetches a model's files (with progress), checks the configs
// here, and hands the files to the workers; the first worker's answer
// becomes ModelLoaded.
func (r *runner) loadModel(m weights.Model, workers int) {
	if r.stopLoad != nil {
		r.stopLoad()
	}
	ctx, stop := context.WithCancel(context.Background())
	r.stopLoad = stop
	r.pool.unload()
	go func() {
		files, err := weights.Fetch(ctx, m, func(p weights.Progress) {
			r.inbox.Post(LoadProgress{Model: m.Name, Done: p.Done, Total: p.Total})
		})
		if ctx.Err() != nil {
			return
		}
		r.inbox.Post(modelFetched{model: m.Name, files: files, workers: workers, err: err})
	}()
}

// modelFetched is the end of a fetch; the runner checks the configs and
// passes the files to the pool.
type modelFetched struct {
	model   string
	files   map[string]js.Value
	workers int
	err     error
}

func (r *runner) fetched(f modelFetched) {
	if f.model != r.state.Load.Model {
		return
	}
	fail := func(err error) { r.update(ModelLoaded{Model: f.model, Err: err}) }
	if f.err != nil {
		fail(f.err)
		return
	}
	cfg, err := unet.ParseConfig(goBytes(f.files[weights.ConfigFile]))
	if err != nil {
		fail(fmt.Errorf("%s: %w", weights.ConfigFile, err))
		return
	}
	schedCfg := goBytes(f.files[weights.SchedulerConfigFile])
	if _, err := scheduler.FromConfig(schedCfg, "", scheduler.Options{}); err != nil {
		fail(fmt.Errorf("%s: %w", weights.SchedulerConfigFile, err))
		return
	}
	r.model, r.config, r.schedulerConfig = f.model, cfg, schedCfg
	r.state.SchedulerConfig = schedCfg
	r.pool.load(f.model, f.files, f.workers)
}

// startRun splits the batch over the workers and tells the viewer what is
// coming: the shape, the timesteps and ᾱ for its schedule plot.
func (r *runner) startRun(c StartRun) {
	s := c.Settings
	sched, eta, err := r.schedule(s)
	if err != nil {
		r.update(WorkerFailed{RunID: c.ID, Err: err.Error()})
		return
	}
	for _, u := range []*string{&r.pngURL, &r.gifURL} {
		if *u != "" {
			js.Global().Get("URL").Call("revokeObjectURL", *u)
			*u = ""
		}
	}
	r.runID, r.frames = c.ID, make([]js.Value, s.Batch)
	r.gifFrames = map[int][]js.Value{}
	for _, step := range pipeline.GIFSteps(s.Steps) {
		r.gifFrames[step] = make([]js.Value, s.Batch)
	}
	r.viewer.start(map[string]any{
		"kind": "run", "runId": c.ID, "batch": s.Batch,
		"channels": r.config.OutChannels, "height": r.config.SampleSize[0], "width": r.config.SampleSize[1],
		"steps": s.Steps, "timesteps": float32Array(sched.Timesteps()), "alphasCumprod": float32Array(sched.AlphasCumprod()),
	})
	r.pool.run(engine.Job{RunID: c.ID, Scheduler: s.Scheduler, Steps: s.Steps, Seed: s.Seed, Eta: eta}, s.Batch, c.Workers)
}

// showStep sends the viewer the kept frames of step c.Step of the finished
// run, as "scrub" messages.
func (r *runner) showStep(c ShowStep) {
	if c.RunID != r.runID {
		return
	}
	for _, f := range r.gifFrames[c.Step] {
		if f.Truthy() {
			msg := js.Global().Get("Object").Call("assign", js.Global().Get("Object").New(), f)
			msg.Set("kind", "scrub")
			r.viewer.send(msg)
		}
	}
}

// workerMessage routes a worker's message: frames of the current run go to
// the viewer and count towards the progress; stale ones are dropped.
func (r *runner) workerMessage(m workerMessage) {
	d := m.data
	switch kind := d.Get("kind").String(); kind {
	case engine.KindLoaded:
		model := d.Get("model").String()
		if model != r.model {
			return
		}
		var err error
		if e := d.Get("error"); e.Type() == js.TypeString {
			err = fmt.Errorf("%s", e.String())
		}
		r.update(ModelLoaded{Model: model, Err: err})
	case engine.KindFrame:
		id, img := d.Get("runId").Int(), d.Get("image").Int()
		if id != r.runID || r.state.Run.Phase != Running || img < 0 || img >= len(r.frames) {
			return
		}
		r.frames[img] = d
		if kept, ok := r.gifFrames[d.Get("step").Int()]; ok {
			kept[img] = d
		}
		r.viewer.frame(img, d)
		r.update(Frame{RunID: id, Step: d.Get("step").Int(), Steps: d.Get("steps").Int(), Image: img})
	case engine.KindDone:
		r.update(WorkerDone{RunID: d.Get("runId").Int(), Worker: m.worker, Memory: int64(d.Get("memory").Int())})
	case engine.KindError:
		if d.Get("request").Truthy() {
			r.trainMessage(d)
			return
		}
		r.update(WorkerFailed{RunID: d.Get("runId").Int(), Err: d.Get("error").String()})
	case engine.KindTrainStep, engine.KindTrainFiles:
		r.trainMessage(d)
	case kindExit:
		// The worker is gone: the loading model or the current run fails.
		r.pool.drop(m.worker)
		err := "a sampling worker stopped: " + d.Get("error").String()
		if m.worker == 0 && r.state.Training.Session {
			r.update(TrainFailed{Err: err + " (the fine-tuned weights are lost)"})
			r.state.Training.Session = false
		}
		if r.state.Load.Phase == Loading {
			r.update(ModelLoaded{Model: r.state.Load.Model, Err: fmt.Errorf("%s", err)})
		}
		r.update(WorkerFailed{RunID: r.runID, Err: err})
	}
}

// collect ends run id in the viewer and posts its final samples as
// RunImages; it returns them too.
func (r *runner) collect(id int) (*tensor.Tensor, error) {
	r.viewer.post(map[string]any{"kind": "done", "runId": id})
	x, err := r.finalSamples()
	r.inbox.Post(RunImages{RunID: id, X: x, Err: err})
	return x, err
}

// finalSamples gathers the last frame of every image (its final sample)
// into [B,C,H,W].
func (r *runner) finalSamples() (*tensor.Tensor, error) {
	c, h, w := r.config.OutChannels, r.config.SampleSize[0], r.config.SampleSize[1]
	x := tensor.New(len(r.frames), c, h, w)
	per := c * h * w
	for i, f := range r.frames {
		if !f.Truthy() {
			return nil, fmt.Errorf("image %d has no final sample", i)
		}
		xt := f.Get("xt")
		if xt.Get("length").Int() != per {
			return nil, fmt.Errorf("image %d: %d values, want %d", i, xt.Get("length").Int(), per)
		}
		copyFloat32s(x.Data[i*per:(i+1)*per], xt)
	}
	return x, nil
}

// makePNG turns the final samples x (or the error gathering them) into the
// grid PNG, the same pixels as `chrysalis sample -out`, as an object URL.
func (r *runner) makePNG(x *tensor.Tensor, err error) (string, error) {
	if err != nil {
		return "", err
	}
	imgs, err := pipeline.Images(x)
	if err != nil {
		return "", err
	}
	grid, err := pipeline.Grid(imgs)
	if err != nil {
		return "", err
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, grid); err != nil {
		return "", err
	}
	r.pngURL = objectURL(buf.Bytes(), "image/png")
	return r.pngURL, nil
}

// objectURL makes a Blob of data and returns its object URL, for a
// download link; the caller revokes it.
func objectURL(data []byte, mime string) string {
	u8 := js.Global().Get("Uint8Array").New(len(data))
	js.CopyBytesToJS(u8, data)
	blob := js.Global().Get("Blob").New([]any{u8}, map[string]any{"type": mime})
	return js.Global().Get("URL").Call("createObjectURL", blob).String()
}

// gifScale is the page's GIF scale, `chrysalis sample -gif -scale 2`'s.
const gifScale = 2

// makeGIF draws the kept frames of the run as pipeline.GIF does for
// `chrysalis sample -gif`, the same bytes, as an object URL.
func (r *runner) makeGIF() (string, error) {
	c, h, w := r.config.OutChannels, r.config.SampleSize[0], r.config.SampleSize[1]
	per := c * h * w
	steps := slices.Sorted(maps.Keys(r.gifFrames))
	frames := make([]pipeline.Frame, len(steps))
	for k, step := range steps {
		xt, x0 := tensor.New(len(r.frames), c, h, w), tensor.New(len(r.frames), c, h, w)
		for i, f := range r.gifFrames[step] {
			if !f.Truthy() || f.Get("xt").Get("length").Int() != per || f.Get("x0").Get("length").Int() != per {
				return "", fmt.Errorf("the GIF: image %d has no frame of step %d", i, step+1)
			}
			copyFloat32s(xt.Data[i*per:(i+1)*per], f.Get("xt"))
			copyFloat32s(x0.Data[i*per:(i+1)*per], f.Get("x0"))
		}
		frames[k] = pipeline.Frame{Index: step, Sample: xt, PredOriginal: x0}
	}
	g, err := pipeline.GIF(frames, gifScale)
	if err != nil {
		return "", err
	}
	var buf bytes.Buffer
	if err := gif.EncodeAll(&buf, g); err != nil {
		return "", err
	}
	r.gifURL = objectURL(buf.Bytes(), "image/gif")
	return r.gifURL, nil
}

// fetchBytes GETs a small file.
func fetchBytes(path string) ([]byte, error) {
	resp, err := promise.Await(js.Global().Call("fetch", path, map[string]any{"cache": "no-cache"}))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if !resp.Get("ok").Bool() {
		return nil, fmt.Errorf("%s: HTTP %d %s", path, resp.Get("status").Int(), resp.Get("statusText").String())
	}
	buf, err := promise.Await(resp.Call("arrayBuffer"))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return goBytes(js.Global().Get("Uint8Array").New(buf)), nil
}

func goBytes(u8 js.Value) []byte {
	b := make([]byte, u8.Get("length").Int())
	js.CopyBytesToGo(b, u8)
	return b
}

func float32Array(v []float32) js.Value {
	a := js.Global().Get("Float32Array").New(len(v))
	if len(v) > 0 {
		js.CopyBytesToJS(js.Global().Get("Uint8Array").New(a.Get("buffer")), floatBytes(v))
	}
	return a
}

func copyFloat32s(dst []float32, src js.Value) {
	u8 := js.Global().Get("Uint8Array").New(src.Get("buffer"), src.Get("byteOffset"), src.Get("byteLength"))
	js.CopyBytesToGo(floatBytes(dst), u8)
}

// floatBytes views float32s as their little-endian bytes (wasm is little-endian).
func floatBytes(v []float32) []byte {
	return unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(v))), 4*len(v))
}
