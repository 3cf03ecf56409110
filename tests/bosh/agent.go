package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"code.cloudfoundry.org/clock"
	boshagent "github.com/cloudfoundry/bosh-agent/v2/agent"
	boshaction "github.com/cloudfoundry/bosh-agent/v2/agent/action"
	boshas "github.com/cloudfoundry/bosh-agent/v2/agent/applier/applyspec"
	boshscript "github.com/cloudfoundry/bosh-agent/v2/agent/script"
	boshtask "github.com/cloudfoundry/bosh-agent/v2/agent/task"
	boshhandler "github.com/cloudfoundry/bosh-agent/v2/handler"
	"github.com/cloudfoundry/bosh-agent/v2/jobsupervisor"
	boshdirs "github.com/cloudfoundry/bosh-agent/v2/settings/directories"
	boshuuid "github.com/cloudfoundry/bosh-utils/uuid"
)

// The agent's reply limit on NATS (mbus/nats_handler.go: responseMaxLength).
const responseMaxLength = 1024 * 1024

// actions is the part of the agent's action factory the director uses for
// errands and lifecycle scripts; each action is bosh-agent's own.
type actions map[string]boshaction.Action

func (a actions) Create(method string) (boshaction.Action, error) {
	if action, ok := a[method]; ok {
		return action, nil
	}
	return nil, fmt.Errorf("unknown message %s", method)
}

type envFlags map[string]string

func (e envFlags) String() string { return fmt.Sprint(map[string]string(e)) }
func (e envFlags) Set(kv string) error {
	k, v, ok := strings.Cut(kv, "=")
	if !ok {
		return fmt.Errorf("-env wants KEY=VALUE, got %q", kv)
	}
	e[k] = v
	return nil
}

func agent(args []string) error {
	flags := flag.NewFlagSet("agent", flag.ContinueOnError)
	method := flags.String("action", "run_errand", "run_errand, run_script or drain")
	script := flags.String("script", "", "run_script: the script's name (pre-start, post-start, …)")
	cancelWhen := flags.String("cancel-when", "", "run_errand: send cancel_task once this file exists")
	base := flags.String("base", "/var/vcap", "the agent's base directory")
	env := envFlags{}
	flags.Var(env, "env", "run_script: KEY=VALUE for the script's environment (repeatable)")
	if err := flags.Parse(args); err != nil {
		return err
	}
	d := newDeps()
	dirs := boshdirs.NewProvider(*base)
	specService := boshas.NewConcreteV1Service(d.fs, specPath(dirs))
	scripts := boshscript.NewConcreteJobScriptProvider(d.runner, d.fs, dirs, clock.NewClock(), d.logger)
	taskService := boshtask.NewAsyncTaskService(boshuuid.NewGenerator(), d.logger)
	dispatcher := boshagent.NewActionDispatcher(
		d.logger, taskService,
		boshtask.NewManagerProvider().NewManager(d.logger, d.fs, dirs.BoshDir()),
		actions{
			"run_errand":  boshaction.NewRunErrand(specService, dirs.JobsDir(), d.runner, d.logger),
			"run_script":  boshaction.NewRunScript(scripts, specService, d.logger),
			"drain":       boshaction.NewDrain(nil, specService, scripts, jobsupervisor.NewDummyJobSupervisor(), d.logger),
			"get_task":    boshaction.NewGetTask(taskService),
			"cancel_task": boshaction.NewCancelTask(taskService),
		},
		boshaction.NewRunner(),
	)

	// One request through the agent's JSON handler, as NATS carries it.
	send := func(method string, arguments ...interface{}) ([]byte, error) {
		request, err := json.Marshal(map[string]interface{}{
			"method": method, "arguments": arguments, "reply_to": "director.harness", "protocol": 3,
		})
		if err != nil {
			return nil, err
		}
		reply, _, err := boshhandler.PerformHandlerWithJSON(request, dispatcher.Dispatch, responseMaxLength, d.logger)
		return reply, err
	}

	var arguments []interface{}
	switch *method {
	case "run_errand":
	case "run_script":
		arguments = []interface{}{*script, boshaction.RunScriptOptions{Env: env}}
	case "drain":
		// An update drain (the director's on a deploy that changes the job).
		spec, err := specService.Get()
		if err != nil {
			return err
		}
		arguments = []interface{}{"update", spec}
	default:
		return fmt.Errorf("unknown -action %q (run_errand, run_script, drain)", *method)
	}
	reply, err := send(*method, arguments...)
	if err != nil {
		return err
	}
	var started struct {
		Value struct {
			TaskID string `json:"agent_task_id"`
		} `json:"value"`
	}
	if err := json.Unmarshal(reply, &started); err != nil || started.Value.TaskID == "" {
		return fmt.Errorf("%s did not start a task: %s", *method, reply)
	}
	cancelled := false
	for {
		if *cancelWhen != "" && !cancelled {
			if _, err := os.Stat(*cancelWhen); err == nil {
				reply, err := send("cancel_task", started.Value.TaskID)
				if err != nil {
					return err
				}
				fmt.Fprintf(os.Stderr, "cancel_task reply: %s\n", reply)
				cancelled = true
			}
		}
		reply, err := send("get_task", started.Value.TaskID)
		if err != nil {
			return err
		}
		var state struct {
			Value struct {
				State string `json:"state"`
			} `json:"value"`
		}
		if json.Unmarshal(reply, &state) != nil || state.Value.State != "running" {
			// The reply the director gets, as is; its size on stderr.
			if _, err := os.Stdout.Write(reply); err != nil {
				return err
			}
			fmt.Fprintf(os.Stderr, "reply bytes: %d\n", len(reply))
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
}
