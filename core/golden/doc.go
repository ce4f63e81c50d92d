// Package golden is test support: it locates the read-only reference data in
// <repo root>/../shared (diffusers' golden tensors under reference/diffusers,
// the shipped models under models/, training images under data/) and opens
// it, down to the unet_tiny model that several packages' tests run. A
// missing file fails the test; it is never a skip. Root locates the
// repository checkout itself, for tests outside core (the browser tests read
// static/ and build the wasm from it).
package golden
