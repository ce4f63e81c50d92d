package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"chrysalis/core/golden"
)

// TestCourseModel: the bench's course UNet has the forward cost of
// info.json (macs_total: conv, linear and attention matmuls per image). The
// formula weights' bad lines are tested in core/unet/unettest.
func TestCourseModel(t *testing.T) {
	root, err := repoRoot()
	if err != nil {
		t.Fatal(err)
	}
	m, err := courseModel(root)
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(golden.Dir(t), "unet_course", "info.json"))
	if err != nil {
		t.Fatal(err)
	}
	var info struct {
		MACs int64 `json:"macs_total"`
	}
	if err := json.Unmarshal(data, &info); err != nil || info.MACs == 0 {
		t.Fatalf("info.json: macs_total %d, %v", info.MACs, err)
	}
	if got := m.MACs(); got != info.MACs {
		t.Errorf("course model: %d MACs per image, info.json says %d", got, info.MACs)
	}
}

// TestBenchParts runs the timed pieces on small inputs (no time is asserted).
func TestBenchParts(t *testing.T) {
	if g := benchGemm(8, 8, 8, 1, time.Millisecond); !(g > 0) {
		t.Errorf("benchGemm: %v GFLOP/s", g)
	}
	m := tinyModel(t)
	if ms, err := benchForward(m, 1, time.Millisecond); err != nil || !(ms > 0) {
		t.Errorf("benchForward: %v ms, %v", ms, err)
	}
}
