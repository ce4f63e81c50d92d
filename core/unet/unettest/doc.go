// Package unettest builds UNet2DModel configs and weights for tests and
// benchmarks: a config small enough to train in a test (SmallConfig), and
// the reference data's deterministic formula weights for unet_course
// (CourseWeights), which the golden test checks against diffusers and the
// bench command times.
package unettest
