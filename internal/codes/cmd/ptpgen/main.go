// Command ptpgen writes a synthetic NCCI PTP edit file in the published
// layout, for the scale benchmark (make bench) and for trying codedesk at
// full size:
//
//	go run ./internal/codes/cmd/ptpgen -rows 2500000 -o var/ccipra-v321r0-f1.txt
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/codedesk/codedesk/internal/codes/ptpgen"
)

func main() {
	rows := flag.Int("rows", 2_500_000, "number of edits to write")
	seed := flag.Uint64("seed", 1, "random seed (the same seed writes the same file)")
	out := flag.String("o", "ccipra-v321r0-f1.txt", "output file (the name tells codedesk the NCCI version)")
	flag.Parse()
	f, err := os.Create(*out)
	if err != nil {
		fmt.Fprintln(os.Stderr, "ptpgen:", err)
		os.Exit(1)
	}
	if err := ptpgen.Write(f, *rows, *seed); err != nil {
		f.Close()
		fmt.Fprintln(os.Stderr, "ptpgen:", err)
		os.Exit(1)
	}
	if err := f.Close(); err != nil {
		fmt.Fprintln(os.Stderr, "ptpgen:", err)
		os.Exit(1)
	}
}
