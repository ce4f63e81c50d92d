// Command chrysalis samples images from diffusers UNet2DModel checkpoints,
// converts checkpoints between dtypes and layouts, benchmarks the kernels,
// and trains and evaluates models:
//
//	chrysalis sample  -model PATH [-scheduler ddpm|ddim|dpm++2m|euler] [-steps N] [-eta E]
//	                  [-seed S] [-batch B] [-init-noise FILE] [-out FILE.png] [-save-raw FILE]
//	chrysalis convert -model PATH -out DIR [-dtype f16|bf16|f32] [-variant NAME]
//	chrysalis bench
//	chrysalis train   -data DIR (-config unet_config.json | -init MODEL) -out DIR [-epochs N] [-batch B] [-lr LR] [-resume]
//	chrysalis eval    -model DIR -data DIR [-vs DIR] [-samples N | -images DIR]
//
// Run "chrysalis <command> -h" for each command's flags. Errors are one line
// on stderr and a non-zero exit status.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"

	"golang.org/x/term"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	e := env{stdout: os.Stdout, stderr: os.Stderr, tty: term.IsTerminal(int(os.Stderr.Fd()))}
	if err := run(ctx, os.Args[1:], e); err != nil {
		fmt.Fprintf(os.Stderr, "chrysalis: %s\n", oneLine(err.Error()))
		stop()
		os.Exit(1)
	}
}
