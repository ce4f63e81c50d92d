// Package sampleview is what the browser viewer shows of a sampling run, as
// plain Go that native tests reach: the state built from the page's messages
// (run, frame, done, cancel), the conversion of model-space tensors to pixels
// the way diffusers does it, where every image, label and the noise-schedule
// plot go on a canvas of a given size, and the text labels.
//
// The Ebiten program in wasm/viewer only wires browser messages into a View
// and draws what Layout and Plot compute.
package sampleview
