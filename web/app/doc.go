// Package app is the demo page's main thread: the state that one goroutine
// owns, the messages that change it (DOM events, model loading, worker
// frames), the view rendered from it, and, under GOOS=js, the runner that
// carries out its commands: fetching weights, driving the Web Worker pool,
// forwarding frames to the viewer iframe, mirroring the settings into the URL
// and making the PNG.
//
// Update is a plain function of (state, message, time) that returns commands
// (LoadModel, StartRun, CancelRun, MakePNG, CopyText); it and View have no
// syscall/js, so the page's behaviour is tested natively. The UI thread never
// computes a UNet step: runs go to workers.
package app
