// Command parley is the Parley chat server and its admin tool.
package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"
)

func main() {
	root := &cobra.Command{
		Use:           "parley",
		Short:         "Parley: a clustered XMPP chat server with the ConnectyCube dialog model",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(serveCmd(), migrateCmd(), appCmd(), userCmd(), classCmd(), dialogCmd(), clusterCmd(), benchCmd(), versionCmd())
	if err := root.Execute(); err != nil {
		fmt.Fprintln(os.Stderr, "parley:", err)
		os.Exit(1)
	}
}
