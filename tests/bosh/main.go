// Command bosh-harness runs the inject release through BOSH's own Go code,
// for the Rust tests (tests/bosh_release.rs), which run it inside the seed
// VM's network namespace with a private /var/vcap:
//
//	bosh-harness render -release TGZ -job NAME -properties JSON -out DIR [-networks JSON]
//	    reads the release tarball with bosh-cli's release reader and renders
//	    the job (templates and monit file) with bosh-cli's ERB renderer:
//	    without -networks through templatescompiler's job renderer, exactly
//	    as `bosh create-env` does (networks {default: {ip: "", …}}); with
//	    -networks, the same renderer given the instance's networks as a
//	    director would.
//	bosh-harness install -release TGZ -job NAME -rendered DIR [-base /var/vcap]
//	    compiles the job's packages with bosh-agent's compiler (their own
//	    `packaging` scripts) and installs packages and rendered job where the
//	    agent puts them.
//	bosh-harness agent -job NAME -action ACTION [-script NAME] [-env K=V]... [-cancel-when PATH]
//	    sends the action to bosh-agent's action dispatcher as the director
//	    would (run_errand, run_script or drain, then get_task until done,
//	    cancel_task once PATH exists), each reply through the agent's JSON
//	    handler with its 1 MiB limit; prints the last reply on stdout.
package main

import (
	"fmt"
	"os"
)

func main() {
	if len(os.Args) < 2 {
		fail(fmt.Errorf("usage: bosh-harness render|install|agent [flags]"))
	}
	var err error
	switch os.Args[1] {
	case "render":
		err = render(os.Args[2:])
	case "install":
		err = install(os.Args[2:])
	case "agent":
		err = agent(os.Args[2:])
	case "fleet":
		err = fleet(os.Args[2:])
	default:
		err = fmt.Errorf("unknown subcommand %q (render, install, agent)", os.Args[1])
	}
	if err != nil {
		fail(err)
	}
}

func fail(err error) {
	fmt.Fprintf(os.Stderr, "bosh-harness: %s\n", err)
	os.Exit(1)
}
