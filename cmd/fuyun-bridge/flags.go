package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
)

// newFlags makes a flag set whose --help prints usage to stdout (exit 0) and whose errors go to stderr (exit 2).
func newFlags(name, synopsis string, stdout, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: fuyun-bridge %s\n\n", synopsis)
		fs.PrintDefaults()
	}
	return fs
}

// parseFlags parses args; it returns (exit code, true) when the command should stop now.
func parseFlags(fs *flag.FlagSet, args []string, stdout io.Writer) (int, bool) {
	// flag.Parse prints the usage itself on -h and after every error: catch it, and print it once, to
	// stdout for --help and to stderr (with the error) otherwise.
	var printed bytes.Buffer
	stderr := fs.Output()
	fs.SetOutput(&printed)
	err := fs.Parse(args)
	fs.SetOutput(stderr)
	if errors.Is(err, flag.ErrHelp) {
		_, _ = stdout.Write(printed.Bytes())
		return 0, true
	}
	if err != nil {
		_, _ = stderr.Write(printed.Bytes())
		return 2, true
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(fs.Output(), "fuyun-bridge %s: unexpected argument %q\n", fs.Name(), fs.Arg(0))
		return 2, true
	}
	return 0, false
}
