// Package app is the demo page's main thread: the state that one goroutine
// owns, the messages that change it (DOM events, model loading, worker
// frames), the Vugu components that show it (page.vugu and its parts, see
// view.go), and, under GOOS=js, the runner that
// carries out its commands: fetching weights, driving the Web Worker pool,
// forwarding frames to the viewer iframe, mirroring the settings into the URL
// and making the PNG.
//
// Update is a plain function of (state, message, time) that returns commands
// (LoadModel, StartRun, CancelRun, MakePNG, CopyText); it and the
// components build natively (Vugu's js package is inert there), so the
// page's behaviour is tested natively. The UI thread never computes a UNet
// step: runs go to workers; it only draws the preview's starting noise.
package app
