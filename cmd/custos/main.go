// Command custos runs the Custos customer information management system and
// its maintenance tasks. main only calls run, so every command can be tested
// in-process.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "custos:", err)
		os.Exit(exitCode(err))
	}
}
