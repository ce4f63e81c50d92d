// Package golden is test support: it opens the diffusers reference outputs
// kept in the repository under core/golden/testdata/diffusers (made by
// diffusers v0.31.0's own code; its README.md says what was taken and how,
// and REFERENCE.md describes every tensor), down to the unet_tiny model that
// several packages' tests run, and locates the shipped models in
// static/models. A missing file fails the test; it is never a skip. Root
// locates the repository checkout itself, for tests outside core (the browser
// tests read static/ and build the wasm from it).
package golden
