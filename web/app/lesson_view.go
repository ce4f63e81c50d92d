package app

import (
	"encoding/json"
	"fmt"
	"image"
	"math"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/vugu/vugu"
	"github.com/vugu/vugu/js"

	"chrysalis/core/pipeline"
	"chrysalis/core/tensor"
	"chrysalis/web/settings"
)

// Tabs links the views (hidden in an embed, which shows one view).
type Tabs struct {
	State *State
	Post  func(msg any)
}

var views = settings.Views

// pick switches views in place; the link's href is the same view by URL.
func (c *Tabs) pick(e vugu.DOMEvent, name string) {
	e.PreventDefault()
	c.Post(SetView(name))
}

// viewHref is the page's address with view name and the other settings.
func (s *State) viewHref(name string) string {
	v := s.Settings
	v.View = name
	q, _ := url.ParseQuery(v.Encode())
	return "?" + q.Encode()
}

func (s *State) currentView(name string) string {
	if s.Settings.View == name {
		return "page"
	}
	return "false"
}

// ForwardView shows the forward process on the latest run's images.
type ForwardView struct {
	State  *State
	Post   func(msg any)
	Inputs *Inputs

	key string // what fwd and err were computed from
	fwd Forward
	err error
}

// forward is x_t of the current t and schedule, computed once per change.
func (c *ForwardView) forward() (Forward, error) {
	s := c.State
	if s.Final == nil || s.SchedulerConfig == nil {
		return Forward{}, errNoImages
	}
	key := fmt.Sprintf("%p %d %s %d %p", s.Final, s.FinalSeed, s.Beta, s.Settings.T, s.SchedulerConfig)
	if key != c.key {
		c.key = key
		c.fwd, c.err = forwardProcess(s.SchedulerConfig, s.Beta, s.Final, s.FinalSeed, s.Settings.T)
	}
	return c.fwd, c.err
}

var errNoImages = fmt.Errorf("no images yet")

// numbers shows t, √ᾱ_t and √(1−ᾱ_t) (also as data attributes, for tests).
func (c *ForwardView) numbers(el js.Value) {
	f, err := c.forward()
	switch {
	case err == errNoImages:
		setText(el, "")
		return
	case err != nil:
		setText(el, "The noise could not be added: "+err.Error())
		return
	}
	signal, noise := math.Sqrt(float64(f.AlphaBar)), math.Sqrt(float64(1-f.AlphaBar))
	el.Get("dataset").Set("t", f.T)
	el.Get("dataset").Set("alphaBar", strconv.FormatFloat(float64(f.AlphaBar), 'g', -1, 32))
	setText(el, fmt.Sprintf("t = %d: x_t = %.4f·x₀ + %.4f·ε  (√ᾱ_t = %.4f, √(1−ᾱ_t) = %.4f)", f.T, signal, noise, signal, noise))
}

func (c *ForwardView) drawX0(el js.Value) {
	if c.State.Final != nil {
		paintGrid(el, c.State.Final)
	}
}

func (c *ForwardView) drawXT(el js.Value) {
	if f, err := c.forward(); err == nil {
		paintGrid(el, f.XT)
	}
}

// drawPlot draws √ᾱ_t of every beta schedule, √(1−ᾱ_t) of the chosen one
// and a line at t.
func (c *ForwardView) drawPlot(el js.Value) {
	s := c.State
	if s.SchedulerConfig == nil {
		return
	}
	// Renders come many times a second while the view's images are sampled;
	// the plot changes only with the schedule, t or the canvas's size. The
	// canvas remembers what it shows (a new canvas remembers nothing).
	key := fmt.Sprintf("%p %s %d %v %v %v", s.SchedulerConfig, s.Beta, s.Settings.T,
		el.Get("clientWidth").Float(), el.Get("clientHeight").Float(), js.Global().Get("devicePixelRatio").Float())
	if el.Get("dataset").Get("plotted").String() == key {
		return
	}
	el.Get("dataset").Set("plotted", key)
	curves, err := scheduleCurves(s.SchedulerConfig)
	if err != nil {
		return
	}
	chosen := s.Beta
	if chosen == "" {
		chosen = s.modelSchedule()
	}
	var lines []plotLine
	for _, b := range BetaSchedules {
		lines = append(lines, plotLine{y: sqrtEach(curves[b], false), color: scheduleColors[b], width: 1.5 + 1.5*b2f(b == chosen)})
	}
	if ab, ok := curves[chosen]; ok {
		lines = append(lines, plotLine{y: sqrtEach(ab, true), color: noiseColor, width: 2, dashed: true})
	}
	drawPlot(el, lines, s.Settings.T)
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// sqrtEach is √a (or √(1−a)) of each element.
func sqrtEach(a []float32, oneMinus bool) []float64 {
	out := make([]float64, len(a))
	for i, v := range a {
		if oneMinus {
			v = 1 - v
		}
		out[i] = math.Sqrt(float64(v))
	}
	return out
}

// The plot's colours, also the legend's (style.css).
var (
	scheduleColors = map[string]string{"linear": "#0b5cad", "scaled_linear": "#2e8b57", "squaredcos_cap_v2": "#7b3fa0"}
	noiseColor     = "#d9730d"
)

func (s *State) maxT() string { return strconv.Itoa(s.lastT()) }

// lastT is the model's last training timestep (settings.MaxT until loaded).
func (s *State) lastT() int {
	if s.SchedulerConfig != nil {
		if sc, err := noiseSchedule(s.SchedulerConfig, ""); err == nil {
			return len(sc.AlphasCumprod()) - 1
		}
	}
	return settings.MaxT
}

func (s *State) tValue() string { return strconv.Itoa(min(s.Settings.T, s.lastT())) }

// modelSchedule is the beta_schedule of the model's scheduler config.
func (s *State) modelSchedule() string {
	name, _ := configString(s.SchedulerConfig, "beta_schedule")
	if name == "" {
		return "the model's"
	}
	return name
}

// forwardWait says where the forward view's images are.
func (s *State) forwardWait() string {
	switch {
	case s.Load.Phase == LoadFailed:
		return "The model could not be loaded, so there are no images to add noise to."
	case s.Run.Phase == Running && s.Run.Entry == 0:
		return fmt.Sprintf("Sampling %d butterflies to add noise to: step %d of %d…", s.Run.Settings.Batch,
			s.Run.Frames/max(s.Run.Settings.Batch, 1), s.Run.Settings.Steps)
	case s.Run.Phase == Failed || s.Run.Phase == Stopped:
		return "The images could not be sampled: " + s.Run.Note
	}
	return "Loading the model to sample butterflies to add noise to…"
}

// CompareView runs the samplers of settings.Compare one after another.
type CompareView struct {
	State  *State
	Post   func(msg any)
	Inputs *Inputs
}

func compareID(k int) string { return "compare-" + strconv.Itoa(k) }

// compareSamplers is the comparison shown: the one run, or the one Run would start.
func (s *State) compareSamplers() []settings.Sampler {
	if s.Compare.Phase != Idle {
		return s.Compare.Samplers
	}
	samplers, _ := settings.ParseCompare(s.Settings.Compare)
	return samplers
}

func (s *State) compareResult(k int) CompareResult {
	if k < len(s.Compare.Results) {
		return s.Compare.Results[k]
	}
	return CompareResult{}
}

func (s *State) compareSetup() string {
	c := s.Settings
	if s.Compare.Phase != Idle {
		c = s.Compare.Settings
	}
	return fmt.Sprintf("Model %s, seed %d, %d image%s; the samplers and steps come from the URL (compare=%s).",
		c.Model, c.Seed, c.Batch, plural(c.Batch), c.Compare)
}

func (s *State) compareLabel() string {
	if s.Compare.Phase == Running {
		return "Stop"
	}
	return "Run the comparison"
}

func (s *State) compareStatus() string {
	c := s.Compare
	switch c.Phase {
	case Running:
		k := s.Run.Entry - 1
		return fmt.Sprintf("Sampling with %s, %d of %d: step %d of %d…", schedulerLabel(c.Samplers[k].Scheduler), k+1, len(c.Samplers),
			s.Run.Frames/max(s.Run.Settings.Batch, 1), s.Run.Settings.Steps)
	case Done:
		var total time.Duration
		for _, r := range c.Results {
			total += r.Elapsed
		}
		return fmt.Sprintf("Done: %d samplers in %s.", len(c.Samplers), seconds(total))
	case Stopped:
		return c.Note
	case Failed:
		return "The comparison failed: " + c.Note
	}
	return "Press Run the comparison."
}

// compareCaption is "DDIM · 25 steps · 25 UNet calls per image · 1.2 s".
func (s *State) compareCaption(k int, sm settings.Sampler) string {
	text := fmt.Sprintf("%s · %d step%s · %d UNet call%s per image", schedulerLabel(sm.Scheduler), sm.Steps, plural(sm.Steps), sm.Steps, plural(sm.Steps))
	if r := s.compareResult(k); r.Phase == Done {
		text += " · " + seconds(r.Elapsed)
	}
	return text
}

func (c *CompareView) draw(el js.Value, k int) {
	if r := c.State.compareResult(k); r.X != nil {
		paintStrip(el, r.X)
	}
}

// configString reads a string key of a JSON config ("" when absent).
func configString(cfg []byte, key string) (string, error) {
	var m map[string]any
	if err := json.Unmarshal(cfg, &m); err != nil {
		return "", err
	}
	v, _ := m[key].(string)
	return v, nil
}

// paintGrid shows images x ([B,C,H,W]) in canvas el as pipeline.Grid lays
// them out, one canvas pixel per image pixel (CSS enlarges it, pixelated).
func paintGrid(el js.Value, x *tensor.Tensor) {
	imgs, err := pipeline.Images(x)
	if err != nil {
		return
	}
	g, err := pipeline.Grid(imgs)
	if err == nil {
		paint(el, g)
	}
}

// paintStrip shows images x side by side in one row.
func paintStrip(el js.Value, x *tensor.Tensor) {
	imgs, err := pipeline.Images(x)
	if err != nil || len(imgs) == 0 {
		return
	}
	w, h := imgs[0].Rect.Dx(), imgs[0].Rect.Dy()
	strip := image.NewNRGBA(image.Rect(0, 0, w*len(imgs), h))
	for i, img := range imgs {
		for y := range h {
			copy(strip.Pix[y*strip.Stride+4*w*i:], img.Pix[y*img.Stride:y*img.Stride+4*w])
		}
	}
	paint(el, strip)
}

// paint puts img's pixels into canvas el, resizing it to img.
func paint(el js.Value, img *image.NRGBA) {
	w, h := img.Rect.Dx(), img.Rect.Dy()
	if el.Get("width").Int() != w || el.Get("height").Int() != h {
		el.Set("width", w)
		el.Set("height", h)
	}
	data := js.Global().Get("Uint8ClampedArray").New(len(img.Pix))
	js.CopyBytesToJS(data, img.Pix)
	el.Call("getContext", "2d").Call("putImageData", js.Global().Get("ImageData").New(data, w, h), 0, 0)
}

// plotContext sizes canvas el to its CSS box in device pixels and returns
// its cleared 2D context in CSS pixels with the box's size, with a frame
// drawn 6 px in (a falsy context when the canvas has no size).
func plotContext(el js.Value) (ctx js.Value, cw, ch float64) {
	dpr := js.Global().Get("devicePixelRatio").Float()
	cw, ch = el.Get("clientWidth").Float(), el.Get("clientHeight").Float()
	if cw <= 0 || ch <= 0 {
		return js.Null(), 0, 0
	}
	w, h := int(math.Round(cw*dpr)), int(math.Round(ch*dpr))
	if el.Get("width").Int() != w || el.Get("height").Int() != h {
		el.Set("width", w)
		el.Set("height", h)
	}
	ctx = el.Call("getContext", "2d")
	ctx.Call("setTransform", dpr, 0, 0, dpr, 0, 0)
	ctx.Call("clearRect", 0, 0, cw, ch)
	ctx.Set("lineWidth", 1)
	ctx.Set("strokeStyle", "#c9ced6")
	ctx.Call("strokeRect", 6, 6, cw-12, ch-12)
	return ctx, cw, ch
}

// plotLine is one curve of drawPlot: y[t] in [0, 1] for t = 0 … len−1.
type plotLine struct {
	y      []float64
	color  string
	width  float64
	dashed bool
}

// drawPlot draws lines over t in canvas el (sized to its CSS box), with a
// 0–1 frame and a vertical line at marker.
func drawPlot(el js.Value, lines []plotLine, marker int) {
	ctx, cw, ch := plotContext(el)
	if !ctx.Truthy() || len(lines) == 0 {
		return
	}
	const pad = 6.0
	n := len(lines[0].y)
	x := func(t int) float64 { return pad + (cw-2*pad)*float64(t)/float64(max(n-1, 1)) }
	y := func(v float64) float64 { return ch - pad - (ch-2*pad)*v }
	for _, l := range lines {
		ctx.Call("beginPath")
		ctx.Set("strokeStyle", l.color)
		ctx.Set("lineWidth", l.width)
		if l.dashed {
			ctx.Call("setLineDash", []any{6, 4})
		} else {
			ctx.Call("setLineDash", []any{})
		}
		for t, v := range l.y {
			if t == 0 {
				ctx.Call("moveTo", x(t), y(v))
			} else {
				ctx.Call("lineTo", x(t), y(v))
			}
		}
		ctx.Call("stroke")
	}
	ctx.Call("setLineDash", []any{})
	ctx.Set("strokeStyle", "#1d2125")
	ctx.Set("lineWidth", 1.5)
	ctx.Call("beginPath")
	ctx.Call("moveTo", x(marker), pad)
	ctx.Call("lineTo", x(marker), ch-pad)
	ctx.Call("stroke")
}

func (c *ForwardView) choose(e vugu.DOMEvent) {
	c.Post(ChooseImages{Files: e.JSEventTarget().Get("files"), Forward: true})
}

func (c *ForwardView) dragOver(e vugu.DOMEvent) { e.PreventDefault() }

func (c *ForwardView) drop(e vugu.DOMEvent) {
	e.PreventDefault()
	c.Post(ChooseImages{Files: e.JSEvent().Get("dataTransfer").Get("files"), Forward: true})
}

// TrainView fine-tunes the model on chosen images, step by step.
type TrainView struct {
	State  *State
	Post   func(msg any)
	Inputs *Inputs
}

func (c *TrainView) choose(e vugu.DOMEvent) {
	c.Post(ChooseImages{Files: e.JSEventTarget().Get("files")})
}

func (c *TrainView) dragOver(e vugu.DOMEvent) { e.PreventDefault() }

func (c *TrainView) drop(e vugu.DOMEvent) {
	e.PreventDefault()
	c.Post(ChooseImages{Files: e.JSEvent().Get("dataTransfer").Get("files")})
}

func (s *State) canTrain() bool {
	tr := s.Training
	return tr.Phase == Running || tr.Images > 0 && s.Load.Phase == Ready && s.Run.Phase != Running && !tr.Reading
}

func (s *State) trainLabel() string {
	if s.Training.Phase == Running {
		return "Stop"
	}
	return fmt.Sprintf("Train %d step%s", s.Training.Steps, plural(s.Training.Steps))
}

func (s *State) trainStepsValue() string { return strconv.Itoa(s.Training.Steps) }
func (s *State) trainBatchValue() string { return strconv.Itoa(s.Training.Batch) }

func (s *State) trainImagesText() string {
	tr := s.Training
	switch {
	case tr.Reading:
		return "Reading the images…"
	case tr.Images == 0 && tr.Note != "" && tr.Phase == Idle:
		return tr.Note
	case tr.Images == 0:
		return "None chosen yet: choose files or drop them here."
	}
	return fmt.Sprintf("%d image%s, resized to the model's size as chrysalis train does.", tr.Images, plural(tr.Images))
}

// trainLosses is every step's loss, comma-separated (for tests).
func (s *State) trainLosses() string {
	parts := make([]string, len(s.Training.Losses))
	for i, l := range s.Training.Losses {
		parts[i] = strconv.FormatFloat(l, 'g', -1, 64)
	}
	return strings.Join(parts, ",")
}

func (s *State) trainStatus() string {
	tr := s.Training
	last := ""
	if tr.Step > 0 {
		last = fmt.Sprintf("step %d: loss %.4f", tr.Step, tr.Losses[len(tr.Losses)-1])
	}
	switch tr.Phase {
	case Running:
		return fmt.Sprintf("Training: %s · %s…", last, seconds(tr.Elapsed))
	case Done:
		return fmt.Sprintf("Done: %s; %d steps in %s.", last, tr.Steps, seconds(tr.Elapsed))
	case Stopped:
		return tr.Note + " " + last
	case Failed:
		return "Training failed: " + tr.Note
	}
	switch {
	case tr.Exporting:
		return "Exporting…"
	case tr.Session:
		return "The fine-tuned weights are in use."
	}
	return "Choose images, then press Train."
}

// trainPerImage is "image 1: t = 512, loss 0.0832 · …" of the latest step.
func (s *State) trainPerImage() string {
	l := s.Training.Last
	parts := make([]string, len(l.Losses))
	for i := range l.Losses {
		parts[i] = fmt.Sprintf("image %d: t = %d, loss %.4f", i+1, l.T[i], l.Losses[i])
	}
	return strings.Join(parts, " · ")
}

func (s *State) lossCaption() string {
	top := maxOf(s.Training.Losses)
	return fmt.Sprintf("The batch loss at every step (the plot's top is %.3f).", top)
}

func maxOf(v []float64) float64 {
	m := 0.0
	for _, x := range v {
		m = max(m, x)
	}
	return m
}

func (c *TrainView) drawStage(el js.Value, name string) {
	if x := c.State.Training.Last.Stages[name]; x != nil {
		paintStrip(el, x)
	}
}

func (c *TrainView) drawLoss(el js.Value) {
	losses := c.State.Training.Losses
	if len(losses) == 0 {
		return
	}
	top := maxOf(losses)
	y := make([]float64, len(losses))
	for i, l := range losses {
		y[i] = l / top
	}
	drawPlot(el, []plotLine{{y: y, color: scheduleColors["linear"], width: 2}}, len(y)-1)
}

func (c *TrainView) drawLossT(el js.Value) {
	pts := c.State.Training.Points
	if len(pts) == 0 {
		return
	}
	top := 0.0
	for _, p := range pts {
		top = max(top, p.Loss)
	}
	drawScatter(el, pts, c.State.lastT(), top)
}

// drawScatter draws points (t, loss) over t in [0, lastT] and loss in [0, top].
func drawScatter(el js.Value, pts []LossPoint, lastT int, top float64) {
	ctx, cw, ch := plotContext(el)
	if !ctx.Truthy() || top <= 0 {
		return
	}
	const pad = 6.0
	for i, p := range pts {
		ctx.Set("fillStyle", noiseColor)
		if i >= len(pts)-MaxTrainBatch { // the latest points stand out
			ctx.Set("fillStyle", scheduleColors["squaredcos_cap_v2"])
		}
		x := pad + (cw-2*pad)*float64(p.T)/float64(max(lastT, 1))
		y := ch - pad - (ch-2*pad)*p.Loss/top
		ctx.Call("fillRect", x-2, y-2, 4, 4)
	}
}
