// Command licet is the licensing service and its operator's tool.
package main

import (
	"os"

	"github.com/licet/licet/internal/cli"
)

func main() { os.Exit(cli.Run(os.Args[1:])) }
