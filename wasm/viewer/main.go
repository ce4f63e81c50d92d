//go:build js && wasm

// Command viewer is the Ebiten program of viewer.html, the display-only
// iframe of the browser demo. It animates a sampling run: for every image of
// the batch the current x_t beside the predicted x̂₀, the noise schedule
// √ᾱ_t and √(1−ᾱ_t) with a marker at the current t, and the step counter.
//
// The parent page drives it with window.postMessage (see sampleview.Message):
//
//	{kind:"run", runId, batch, channels, height, width, steps, timesteps, alphasCumprod}
//	{kind:"frame", runId, step, steps, t, image, xt, x0}
//	{kind:"done", runId}   {kind:"cancel", runId}
//	{kind:"scrub", runId, step, steps, t, image, xt, x0}   (a kept frame of the finished run)
//	{kind:"preview", runId, batch, channels, height, width, steps, timesteps, alphasCumprod, seed, noise}
//
// A preview (before any run) shows noise[i], image i's starting noise x_T.
//
// and hears {kind:"viewer-ready"} once the listener is installed. main only
// wires the listener, through a channel, into a sampleview.View that the
// game draws.
package main

import (
	"sync"
	"syscall/js"

	"github.com/hajimehoshi/ebiten/v2"

	"chrysalis/web/sampleview"
)

func main() {
	var mu sync.Mutex
	view := &sampleview.View{}

	// The listener must not wait on the game loop, which needs the JS event
	// loop that a blocked listener holds; this goroutine always drains.
	inbox := make(chan sampleview.Message, 64)
	wake := js.Global().Get("viewerWake") // viewer.html's frame gate
	go func() {
		for m := range inbox {
			mu.Lock()
			err := view.Apply(m)
			mu.Unlock()
			ebiten.ScheduleFrame()
			if wake.Truthy() {
				wake.Invoke()
			}
			if err != nil {
				warn(err)
			}
		}
	}()

	window := js.Global()
	parent := window.Get("parent")
	window.Call("addEventListener", "message", js.FuncOf(func(_ js.Value, args []js.Value) any {
		e := args[0]
		if !e.Get("source").Equal(parent) {
			return nil
		}
		m, err := decode(e.Get("data"))
		if err != nil {
			warn(err)
			return nil
		}
		inbox <- m
		return nil
	}))
	parent.Call("postMessage", map[string]any{"kind": "viewer-ready"}, "*")

	if loading := window.Get("document").Call("getElementById", "loading"); loading.Truthy() {
		loading.Call("remove")
	}
	// Ebiten calls Update and Draw only when a message was applied
	// (ScheduleFrame above), on input or on a resize, not 60 times a second,
	// so an idle viewer takes almost no CPU from the sampling workers. (The
	// mode is deprecated in favour of SetScreenClearedEveryFrame(false)
	// alone, which still runs Update and Draw every frame.) It still asks
	// for every animation frame, to look for a ScheduleFrame; viewer.html
	// holds those requests until viewerWake. Draw repaints only when
	// something changed, over the last frame.
	ebiten.SetFPSMode(ebiten.FPSModeVsyncOffMinimum)
	ebiten.SetScreenClearedEveryFrame(false)
	if err := ebiten.RunGame(newGame(&mu, view)); err != nil {
		window.Get("console").Call("error", "viewer: "+err.Error())
	}
}

func warn(err error) {
	js.Global().Get("console").Call("warn", err.Error())
}
