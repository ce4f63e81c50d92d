package main

import (
	"image"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// qualityLines keeps the measured lines of eval's quality table (the rows
// and hue lines), each without its label, so that two runs that label their
// samples differently compare equal when the numbers do.
func qualityLines(t *testing.T, out string) []string {
	t.Helper()
	i := strings.Index(out, "sample quality against")
	if i < 0 {
		t.Fatalf("no quality table in %q", out)
	}
	var keep []string
	row := regexp.MustCompile(`^  (data|model|vs|images) +(.*)$`)
	for _, line := range strings.Split(out[i:], "\n") {
		if m := row.FindStringSubmatch(line); m != nil && !strings.Contains(line, ": ") {
			keep = append(keep, m[2])
		}
	}
	return keep
}

// TestEvalSamples samples unet_tiny through eval -samples, checks the table,
// and checks that eval's samples are "chrysalis sample"'s images 0..N−1 of
// the same seed: the grid's cells, scored with -images, give the same table.
func TestEvalSamples(t *testing.T) {
	model, data := tinyFolder(t, nil), imageFolder(t, 12)
	const n = 20 // more than one chunk of 16
	stdout, _, err := runCLI(false, "eval", "-model", model, "-data", data, "-samples", "20", "-steps", "2", "-seed", "3")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"sample quality against 12 data images at 32×32 (8×8 RGB thumbnails in [0, 1]):\n",
		"  model   " + model + ": 20 samples, ddim 2 steps, seed 3\n",
		"KID and coverage: mean ± sd over 100 subsets of 6 data images and 6 samples\n",
		" red ora yel cha grn spr cya azu blu vio mag ros\n",
	} {
		if !strings.Contains(stdout, want) {
			t.Errorf("eval -samples printed\n%s\nwithout %q", stdout, want)
		}
	}
	if !regexp.MustCompile(`\n  model +-?\d+\.\d\d ± \d+\.\d\d +\d\.\d{3} ± \d\.\d{3}  (\d\.\d{3}|NaN) +\d+\.\d% +\d\.\d{3} ± \d\.\d{3}\n`).MatchString(stdout) {
		t.Errorf("no model row in\n%s", stdout)
	}
	got := qualityLines(t, stdout)

	grid := filepath.Join(t.TempDir(), "grid.png")
	if _, _, err := runCLI(false, "sample", "-model", model, "-scheduler", "ddim", "-steps", "2", "-seed", "3",
		"-batch", "20", "-scale", "1", "-out", grid); err != nil {
		t.Fatal(err)
	}
	cells := splitGrid(t, grid, n, 32)
	out, _, err := runCLI(false, "eval", "-model", model, "-data", data, "-images", cells, "-seed", "3")
	if err != nil {
		t.Fatal(err)
	}
	if want := qualityLines(t, out); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("eval -samples:\n%s\nthe same images from sample, with -images:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	// Another seed samples other images.
	other, _, err := runCLI(false, "eval", "-model", model, "-data", data, "-samples", "20", "-steps", "2", "-seed", "4")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(qualityLines(t, other), "\n") == strings.Join(got, "\n") {
		t.Errorf("seeds 3 and 4 printed the same table:\n%s", other)
	}
}

// With -vs, eval prints the paired KID difference; a model against itself
// differs by exactly 0 on every subset.
func TestEvalPairedKID(t *testing.T) {
	model, data := tinyFolder(t, nil), imageFolder(t, 12)
	stdout, _, err := runCLI(false, "eval", "-model", model, "-vs", model, "-data", data, "-samples", "12", "-steps", "2")
	if err != nil {
		t.Fatal(err)
	}
	if want := "KID×10³ paired, model − vs: 0.00; 95% of the 100 subsets' differences in [0.00, 0.00]\n"; !strings.Contains(stdout, want) {
		t.Errorf("eval -vs printed\n%s\nwithout %q", stdout, want)
	}
}

// splitGrid cuts the first n cells of a grid PNG of side×side images into
// a folder of PNGs, in order.
func splitGrid(t *testing.T, path string, n, side int) string {
	t.Helper()
	img := readPNG(t, path)
	cols := img.Bounds().Dx() / side
	dir := t.TempDir()
	for i := range n {
		x, y := (i%cols)*side, (i/cols)*side
		cell := img.(interface {
			SubImage(image.Rectangle) image.Image
		}).SubImage(image.Rect(x, y, x+side, y+side))
		savePNG(t, filepath.Join(dir, strings.Repeat("0", 3)+string(rune('a'+i))+".png"), cell)
	}
	return dir
}

// TestEvalImagesItself scores a folder against itself: the hue histograms
// are the same, so their distance is exactly 0, and so are the roughnesses.
func TestEvalImagesItself(t *testing.T) {
	model, data := tinyFolder(t, nil), imageFolder(t, 12)
	stdout, _, err := runCLI(false, "eval", "-model", model, "-data", data, "-images", data)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(stdout, "  images  "+data+": 12 images\n") ||
		!regexp.MustCompile(`\n  images +-?\d+\.\d\d ± \d+\.\d\d +\d\.\d{3} ± \d\.\d{3}  0\.000 +\d+\.\d% +\d\.\d{3} ± \d\.\d{3}\n`).MatchString(stdout) {
		t.Errorf("eval -images itself printed\n%s", stdout)
	}
	// The same images are exactly as rough as the data.
	rough := regexp.MustCompile(`(?m)^  (data|images) .*%\s+(\d\.\d{3} ± \d\.\d{3})$`).FindAllStringSubmatch(stdout, -1)
	if len(rough) != 2 || rough[0][2] != rough[1][2] {
		t.Errorf("roughness of the data and of the same images: %q", rough)
	}
	lines := qualityLines(t, stdout)
	if hues := lines[len(lines)-2:]; hues[0] != hues[1] {
		t.Errorf("hue lines differ: %q", hues)
	}
}

func TestEvalQualityErrors(t *testing.T) {
	model, data := tinyFolder(t, nil), imageFolder(t, 12)
	small := imageFolder(t, 4)
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"-samples", "-1"}, "-samples -1"},
		{[]string{"-images", data, "-vs", model}, "-images replaces"},
		{[]string{"-images", data, "-steps", "3"}, "apply to sampling"},
		{[]string{"-steps", "3"}, "apply to -samples"},
		{[]string{"-samples", "12", "-scheduler", "heun"}, `-scheduler "heun"`},
		{[]string{"-samples", "12", "-steps", "0"}, "-steps 0"},
		{[]string{"-samples", "12", "-steps", "1001"}, "-steps 1001: " + model + "'s scheduler has 1000 training timesteps"},
		{[]string{"-images", data, "-samples", "13"}, "holds 12 images"},
		{[]string{"-images", small}, "subsets of 2"},
	} {
		_, _, err := runCLI(false, append([]string{"eval", "-model", model, "-data", data}, c.args...)...)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("eval %v: %v, want an error containing %q", c.args, err, c.want)
		}
	}
}
