package main

// bosh-harness fleet -results FILE -cli-out FILE -task-out FILE -ssh-out FILE
//
// What `inject fleet` reads, made by bosh-cli's own code from errand
// results (FILE: [{"group","id","exit_code","stdout","stderr"}], the agent
// replies of several instances):
//   - -task-out: the director's task result, one line per instance, as a
//     director writes it and `bosh task N --result` prints it;
//   - -cli-out: `bosh run-errand NAME --json`: that task result served over
//     HTTPS to bosh-cli's director client (director/errands.go decodes it)
//     and printed by its RunErrandCmd through the JSON UI (ui/json_ui.go);
//   - -ssh-out: `bosh ssh -r --json`: each stdout written through
//     bosh-cli's ssh ResultsWriter (its `results` table) and the JSON UI.

import (
	"bytes"
	"encoding/json"
	"encoding/pem"
	"flag"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"

	boshcmd "github.com/cloudfoundry/bosh-cli/v7/cmd"
	boshopts "github.com/cloudfoundry/bosh-cli/v7/cmd/opts"
	boshdir "github.com/cloudfoundry/bosh-cli/v7/director"
	boshssh "github.com/cloudfoundry/bosh-cli/v7/ssh"
	boshui "github.com/cloudfoundry/bosh-cli/v7/ui"
	boshlog "github.com/cloudfoundry/bosh-utils/logger"
)

type errandResult struct {
	Group    string `json:"group"`
	ID       string `json:"id"`
	ExitCode int    `json:"exit_code"`
	Stdout   string `json:"stdout"`
	Stderr   string `json:"stderr"`
}

// One line of a run-errand task's result, as the director writes it
// (bosh-director's errand runner: instance, errand_name, exit_code,
// stdout, stderr, logs).
type taskResultLine struct {
	Instance struct {
		Group string `json:"group"`
		ID    string `json:"id"`
	} `json:"instance"`
	ErrandName string `json:"errand_name"`
	ExitCode   int    `json:"exit_code"`
	Stdout     string `json:"stdout"`
	Stderr     string `json:"stderr"`
	Logs       struct {
		BlobstoreID *string `json:"blobstore_id"`
		SHA1        *string `json:"sha1"`
	} `json:"logs"`
}

func fleet(args []string) error {
	flags := flag.NewFlagSet("fleet", flag.ContinueOnError)
	resultsPath := flags.String("results", "", "errand results (JSON list)")
	cliOut := flags.String("cli-out", "", "where `bosh run-errand --json` goes")
	taskOut := flags.String("task-out", "", "where `bosh task N --result` goes")
	sshOut := flags.String("ssh-out", "", "where `bosh ssh -r --json` goes")
	errand := flags.String("errand", "inject-commands", "the errand's name")
	if err := flags.Parse(args); err != nil {
		return err
	}
	var results []errandResult
	if err := readJSON(*resultsPath, &results); err != nil {
		return err
	}
	var task bytes.Buffer
	for _, r := range results {
		var line taskResultLine
		line.Instance.Group, line.Instance.ID = r.Group, r.ID
		line.ErrandName, line.ExitCode, line.Stdout, line.Stderr = *errand, r.ExitCode, r.Stdout, r.Stderr
		encoded, err := json.Marshal(line)
		if err != nil {
			return err
		}
		task.Write(encoded)
		task.WriteByte('\n')
	}
	if *taskOut != "" {
		if err := os.WriteFile(*taskOut, task.Bytes(), 0o644); err != nil {
			return err
		}
	}
	if *cliOut != "" {
		if err := runErrandJSON(*errand, task.Bytes(), *cliOut); err != nil {
			return err
		}
	}
	if *sshOut != "" {
		if err := sshResultsJSON(results, *sshOut); err != nil {
			return err
		}
	}
	return nil
}

// runErrandJSON serves `task` as a director's finished run-errand task and
// runs bosh-cli's run-errand command against it with the JSON UI.
func runErrandJSON(errand string, task []byte, out string) error {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /deployments/cf/errands/"+errand+"/runs", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/tasks/7", http.StatusFound)
	})
	mux.HandleFunc("GET /tasks/7", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"id":7,"state":"done","description":"run errand","result":""}`)
	})
	mux.HandleFunc("GET /tasks/7/output", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("type") == "result" {
			w.Write(task)
			return
		}
		// The event log: nothing new (a finished task's reporter asks once).
		if r.Header.Get("Range") != "" && r.Header.Get("Range") != "bytes=0-" {
			w.WriteHeader(http.StatusRequestedRangeNotSatisfiable)
		}
	})
	server := httptest.NewTLSServer(mux)
	defer server.Close()
	host, port, err := net.SplitHostPort(server.Listener.Addr().String())
	if err != nil {
		return err
	}
	portNumber, _ := strconv.Atoi(port)
	caCert := string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: server.Certificate().Raw}))
	logger := boshlog.NewWriterLogger(boshlog.LevelError, os.Stderr)
	director, err := boshdir.NewFactory(logger).New(
		boshdir.FactoryConfig{Host: host, Port: portNumber, CACert: caCert},
		boshdir.NewNoopTaskReporter(), boshdir.NewNoopFileReporter())
	if err != nil {
		return err
	}
	deployment, err := director.FindDeployment("cf")
	if err != nil {
		return err
	}
	file, err := os.Create(out)
	if err != nil {
		return err
	}
	defer file.Close()
	ui := boshui.NewJSONUI(boshui.NewWriterUI(file, os.Stderr, logger), logger)
	opts := boshopts.RunErrandOpts{}
	opts.Args.Name = errand
	// The CLI prints the table and then fails when an instance's exit code
	// is not 0 (`Errand '…' completed with error`): the JSON is printed
	// either way, which is what is read.
	if err := boshcmd.NewRunErrandCmd(deployment, nil, ui).Run(opts); err != nil {
		fmt.Fprintf(os.Stderr, "bosh-harness: run-errand: %s\n", err)
	}
	ui.Flush()
	return nil
}

// sshResultsJSON writes each instance's output through bosh-cli's ssh
// results writer, as `bosh ssh -r --json -c CMD` does.
func sshResultsJSON(results []errandResult, out string) error {
	file, err := os.Create(out)
	if err != nil {
		return err
	}
	defer file.Close()
	logger := boshlog.NewWriterLogger(boshlog.LevelError, os.Stderr)
	ui := boshui.NewJSONUI(boshui.NewWriterUI(file, os.Stderr, logger), logger)
	writer := boshssh.NewResultsWriter(ui)
	for _, r := range results {
		instance := writer.ForInstance(r.Group, r.ID)
		instance.Stdout().Write([]byte(r.Stdout))
		instance.Stderr().Write([]byte(r.Stderr))
		var exitErr error
		if r.ExitCode != 0 {
			exitErr = fmt.Errorf("Process exited with status %d", r.ExitCode)
		}
		instance.End(r.ExitCode, exitErr)
	}
	writer.Flush()
	ui.Flush()
	return nil
}
