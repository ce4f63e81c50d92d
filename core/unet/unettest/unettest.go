package unettest

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"

	"chrysalis/core/tensor"
	"chrysalis/core/unet"
)

// SmallConfig is a UNet2DModel small enough to train in a test: 16x16 RGB,
// two blocks (the second with attention), 8 and 16 channels, one resnet per
// block, 4 groups.
func SmallConfig() unet.Config {
	c := unet.DefaultConfig()
	c.SampleSize = [2]int{16, 16}
	c.BlockOutChannels = []int{8, 16}
	c.DownBlockTypes = []string{"DownBlock2D", "AttnDownBlock2D"}
	c.UpBlockTypes = []string{"AttnUpBlock2D", "UpBlock2D"}
	c.LayersPerBlock = 1
	c.NormNumGroups = 4
	c.AttentionHeadDim = 8
	return c
}

// CourseWeights generates the unet_course weights from its keys.txt, whose
// lines are "k<TAB>key<TAB>[shape]<TAB>numel<TAB>is_norm_weight" in sorted
// key order, by the reference README's formula: for the tensor with index k,
// w[i] = float32(0.02·sin(0.1·i + 1.7·k)), plus 1 for GroupNorm weights. It
// returns the tensors by name and the names in keys.txt order.
func CourseWeights(keys io.Reader) (map[string]*tensor.Tensor, []string, error) {
	weights := map[string]*tensor.Tensor{}
	var order []string
	sc := bufio.NewScanner(keys)
	for line := 1; sc.Scan(); line++ {
		if strings.HasPrefix(sc.Text(), "#") || sc.Text() == "" {
			continue // the header
		}
		col := strings.Split(sc.Text(), "\t")
		if len(col) != 5 {
			return nil, nil, fmt.Errorf("unettest: keys.txt line %d: %d columns, want 5", line, len(col))
		}
		k, err := strconv.Atoi(col[0])
		if err != nil || k != len(order) {
			return nil, nil, fmt.Errorf("unettest: keys.txt line %d: index %q, want %d", line, col[0], len(order))
		}
		var shape []int
		for _, s := range strings.Split(strings.Trim(col[2], "[]"), ",") {
			d, err := strconv.Atoi(strings.TrimSpace(s))
			if err != nil || d < 1 || d > 1<<16 {
				return nil, nil, fmt.Errorf("unettest: keys.txt line %d: shape %q", line, col[2])
			}
			shape = append(shape, d)
		}
		w := tensor.New(shape...)
		for i := range w.Data {
			v := float64(0.02 * math.Sin(float64(0.1*float64(i))+float64(1.7*float64(k)))) // rounded products: no FMA, as in numpy
			if col[4] == "1" {
				v++
			}
			w.Data[i] = float32(v)
		}
		weights[col[1]] = w
		order = append(order, col[1])
	}
	if err := sc.Err(); err != nil {
		return nil, nil, fmt.Errorf("unettest: keys.txt: %w", err)
	}
	if len(order) == 0 {
		return nil, nil, errors.New("unettest: keys.txt: no tensors")
	}
	return weights, order, nil
}
