package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	bicrypto "github.com/cloudfoundry/bosh-cli/v7/crypto"
	birel "github.com/cloudfoundry/bosh-cli/v7/release"
	bireljob "github.com/cloudfoundry/bosh-cli/v7/release/job"
	bitemplate "github.com/cloudfoundry/bosh-cli/v7/templatescompiler"
	bierb "github.com/cloudfoundry/bosh-cli/v7/templatescompiler/erbrenderer"
	boshcrypto "github.com/cloudfoundry/bosh-utils/crypto"
	boshfu "github.com/cloudfoundry/bosh-utils/fileutil"
	boshlog "github.com/cloudfoundry/bosh-utils/logger"
	biproperty "github.com/cloudfoundry/bosh-utils/property"
	boshsys "github.com/cloudfoundry/bosh-utils/system"
	boshuuid "github.com/cloudfoundry/bosh-utils/uuid"
)

type deps struct {
	logger boshlog.Logger
	fs     boshsys.FileSystem
	runner boshsys.CmdRunner
}

func newDeps() deps {
	logger := boshlog.NewWriterLogger(boshlog.LevelError, os.Stderr)
	return deps{logger: logger, fs: boshsys.NewOsFileSystem(logger), runner: boshsys.NewExecCmdRunner(logger)}
}

// readJob reads the release tarball as `bosh create-env` does and returns
// the named job, extracted; cleanUp removes the extraction.
func readJob(d deps, tarball, name string) (*bireljob.Job, birel.Release, error) {
	compressor := boshfu.NewTarballCompressor(d.runner, d.fs)
	digest := bicrypto.NewDigestCalculator(d.fs, []boshcrypto.Algorithm{boshcrypto.DigestAlgorithmSHA1})
	provider := birel.NewProvider(d.runner, compressor, digest, d.fs, d.logger)
	release, err := provider.NewExtractingArchiveReader().Read(tarball)
	if err != nil {
		return nil, nil, fmt.Errorf("reading release %s: %w", tarball, err)
	}
	for _, job := range release.Jobs() {
		if job.Name() == name {
			return job, release, nil
		}
	}
	_ = release.CleanUp()
	return nil, nil, fmt.Errorf("release %s has no job %q", tarball, name)
}

func readJSON(path string, into interface{}) error {
	bytes, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(bytes, into); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

// withNetworks is bosh-cli's job evaluation context with the instance's
// networks in place of create-env's placeholder, as a director renders.
type withNetworks struct {
	inner    bierb.TemplateEvaluationContext
	networks map[string]interface{}
	// The instance's identity as a director gives it (name, id, index,
	// az, deployment), over create-env's (-spec; inject fleet's tests).
	spec map[string]interface{}
}

func (c withNetworks) MarshalJSON() ([]byte, error) {
	raw, err := c.inner.MarshalJSON()
	if err != nil {
		return nil, err
	}
	var context map[string]interface{}
	if err := json.Unmarshal(raw, &context); err != nil {
		return nil, err
	}
	context["networks"] = c.networks
	for key, value := range c.spec {
		context[key] = value
	}
	return json.Marshal(context)
}

func render(args []string) error {
	flags := flag.NewFlagSet("render", flag.ContinueOnError)
	tarball := flags.String("release", "", "release tarball")
	jobName := flags.String("job", "", "job name")
	propertiesPath := flags.String("properties", "", "JSON object: the job's properties in the manifest")
	networksPath := flags.String("networks", "", "JSON object: the instance's networks (default: create-env's)")
	out := flags.String("out", "", "directory for the rendered job")
	deployment := flags.String("deployment", "haproxy", "deployment name")
	specPath := flags.String("spec", "", "JSON object: spec keys over create-env's (name, id, index, az, deployment)")
	if err := flags.Parse(args); err != nil {
		return err
	}
	if *tarball == "" || *jobName == "" || *propertiesPath == "" || *out == "" {
		return fmt.Errorf("render needs -release, -job, -properties and -out")
	}
	d := newDeps()
	job, release, err := readJob(d, *tarball, *jobName)
	if err != nil {
		return err
	}
	defer func() { _ = release.CleanUp() }()

	properties := biproperty.Map{}
	if err := readJSON(*propertiesPath, &properties); err != nil {
		return err
	}
	erb := bierb.NewERBRenderer(d.fs, d.runner, d.logger)
	uuidGen := boshuuid.NewGenerator()
	if *networksPath == "" {
		// create-env's own path: job renderer, placeholder networks.
		rendered, err := bitemplate.NewJobRenderer(erb, d.fs, uuidGen, d.logger).
			Render(*job, &properties, biproperty.Map{}, biproperty.Map{}, *deployment, "")
		if err != nil {
			return err
		}
		defer rendered.DeleteSilently()
		return placeRendered(d, rendered.Path(), *out)
	}
	networks := map[string]interface{}{}
	if err := readJSON(*networksPath, &networks); err != nil {
		return err
	}
	spec := map[string]interface{}{}
	if *specPath != "" {
		if err := readJSON(*specPath, &spec); err != nil {
			return err
		}
	}
	context := withNetworks{
		inner:    bitemplate.NewJobEvaluationContext(*job, &properties, biproperty.Map{}, biproperty.Map{}, *deployment, "", uuidGen, d.logger),
		networks: networks,
		spec:     spec,
	}
	staging, err := d.fs.TempDir("rendered-job")
	if err != nil {
		return err
	}
	defer func() { _ = d.fs.RemoveAll(staging) }()
	// The job renderer's loop, with this context.
	sources := map[string]string{"monit": "monit"}
	for src, dst := range job.Templates {
		sources[filepath.Join("templates", src)] = dst
	}
	for src, dst := range sources {
		target := filepath.Join(staging, dst)
		if err := d.fs.MkdirAll(filepath.Dir(target), 0o755); err != nil {
			return err
		}
		if err := erb.Render(filepath.Join(job.ExtractedPath(), src), target, context); err != nil {
			return fmt.Errorf("rendering %s: %w", src, err)
		}
	}
	return placeRendered(d, staging, *out)
}

// placeRendered copies a rendered job to out with the modes the agent's job
// applier gives it: bin/ executable.
func placeRendered(d deps, from, out string) error {
	if err := d.fs.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		return err
	}
	if err := d.fs.CopyDir(from, out); err != nil {
		return err
	}
	return filepath.Walk(out, func(path string, info os.FileInfo, err error) error {
		if err != nil || info.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(out, path)
		mode := os.FileMode(0o644)
		if strings.HasPrefix(rel, "bin/") {
			mode = 0o755
		}
		return os.Chmod(path, mode)
	})
}
