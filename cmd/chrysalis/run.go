package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
)

// env is what a command may touch besides files: its output streams, and
// whether stderr is a terminal (then sample draws a progress bar).
type env struct {
	stdout, stderr io.Writer
	tty            bool
}

const usage = `usage: chrysalis <command> [flags]

commands:
  sample   sample images from a diffusers UNet2DModel checkpoint
  convert  write a checkpoint as a single-model diffusers folder in another dtype
  bench    GEMM GFLOP/s and milliseconds per UNet forward
  train    train a UNet2DModel on an image folder
  eval     a checkpoint's denoising loss on an image folder, with its CI, and its samples' quality

Run "chrysalis <command> -h" for a command's flags.
`

// run executes one command line (without the program name).
func run(ctx context.Context, args []string, e env) error {
	if len(args) == 0 {
		fmt.Fprint(e.stderr, usage)
		return errors.New("no command given")
	}
	var err error
	switch cmd, rest := args[0], args[1:]; cmd {
	case "sample":
		err = runSample(ctx, rest, e)
	case "convert":
		err = runConvert(rest, e)
	case "bench":
		err = runBench(rest, e)
	case "train":
		err = runTrain(ctx, rest, e)
	case "eval":
		err = runEval(ctx, rest, e)
	case "help", "-h", "-help", "--help":
		fmt.Fprint(e.stdout, usage)
	default:
		err = fmt.Errorf("unknown command %q (want sample, convert, bench, train or eval)", cmd)
	}
	if errors.Is(err, errHelp) {
		return nil
	}
	return err
}

// parseFlags parses args into fs. Errors are one line; -h prints the
// command's help to stdout and returns errHelp.
func parseFlags(fs *flag.FlagSet, args []string, help string, e env) error {
	fs.SetOutput(io.Discard)
	err := fs.Parse(args)
	if errors.Is(err, flag.ErrHelp) {
		fmt.Fprint(e.stdout, help)
		fs.SetOutput(e.stdout)
		fs.PrintDefaults()
		return errHelp
	}
	if err != nil {
		return fmt.Errorf("%s: %v", fs.Name(), err)
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%s: unexpected argument %q (flags start with -)", fs.Name(), fs.Arg(0))
	}
	return nil
}

// errHelp ends a command after its help was printed; it is not a failure.
var errHelp = errors.New("help shown")

// setFlags reports which flags appear on the command line.
func setFlags(fs *flag.FlagSet) map[string]bool {
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	return set
}

// oneLine keeps a message on one line.
func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }
