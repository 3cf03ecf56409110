package main

import (
	"flag"
	"fmt"
	"net/http"
	"os"
	"path/filepath"

	"code.cloudfoundry.org/clock"
	boshas "github.com/cloudfoundry/bosh-agent/v2/agent/applier/applyspec"
	boshbc "github.com/cloudfoundry/bosh-agent/v2/agent/applier/bundlecollection"
	boshaj "github.com/cloudfoundry/bosh-agent/v2/agent/applier/jobs"
	"github.com/cloudfoundry/bosh-agent/v2/agent/applier/models"
	boshap "github.com/cloudfoundry/bosh-agent/v2/agent/applier/packages"
	boshrunner "github.com/cloudfoundry/bosh-agent/v2/agent/cmdrunner"
	boshcomp "github.com/cloudfoundry/bosh-agent/v2/agent/compiler"
	"github.com/cloudfoundry/bosh-agent/v2/agent/httpblobprovider"
	"github.com/cloudfoundry/bosh-agent/v2/agent/httpblobprovider/blobstore_delegator"
	"github.com/cloudfoundry/bosh-agent/v2/jobsupervisor"
	boshdirs "github.com/cloudfoundry/bosh-agent/v2/settings/directories"
	boshblob "github.com/cloudfoundry/bosh-utils/blobstore"
	boshcrypto "github.com/cloudfoundry/bosh-utils/crypto"
	boshfu "github.com/cloudfoundry/bosh-utils/fileutil"
	boshuuid "github.com/cloudfoundry/bosh-utils/uuid"
)

// install does what a director and an agent do between "release uploaded"
// and "job running": the agent compiles each package of the job from its
// source blob (its `packaging` script, BOSH_INSTALL_TARGET…), the rendered
// job goes into a rendered-templates archive, and the agent's appliers put
// packages and job under /var/vcap (data/packages, data/jobs, the links in
// packages/ and jobs/, permissions root:vcap as on a stemcell). A local
// blobstore stands in for the director's; the agent's blobstore delegator
// reads it.
func install(args []string) error {
	flags := flag.NewFlagSet("install", flag.ContinueOnError)
	tarball := flags.String("release", "", "release tarball")
	jobName := flags.String("job", "", "job name")
	rendered := flags.String("rendered", "", "the rendered job (render -out)")
	base := flags.String("base", "/var/vcap", "the agent's base directory")
	if err := flags.Parse(args); err != nil {
		return err
	}
	if *tarball == "" || *jobName == "" || *rendered == "" {
		return fmt.Errorf("install needs -release, -job and -rendered")
	}
	d := newDeps()
	// The agent's local blobstore copies each blob it hands out into a temp
	// file that its callers here never clean up (4 MB per package per run);
	// keep them in a directory of our own, removed on the way out, as the
	// agent keeps its own under /var/vcap/data/tmp.
	tmp, err := os.MkdirTemp("", "inject-harness-install-")
	if err != nil {
		return err
	}
	defer func() { _ = os.RemoveAll(tmp) }()
	if err := d.fs.ChangeTempRoot(tmp); err != nil {
		return err
	}
	job, release, err := readJob(d, *tarball, *jobName)
	if err != nil {
		return err
	}
	defer func() { _ = release.CleanUp() }()

	dirs := boshdirs.NewProvider(*base)
	if err := setupSys(d, dirs); err != nil {
		return err
	}
	clk := clock.NewClock()
	compressor := boshfu.NewTarballCompressor(d.runner, d.fs)
	algorithms := []boshcrypto.Algorithm{boshcrypto.DigestAlgorithmSHA1}
	blobPath := filepath.Join(dirs.DataDir(), "harness-blobstore")
	if err := os.MkdirAll(blobPath, 0o700); err != nil {
		return err
	}
	blobs := boshblob.NewDigestVerifiableBlobstore(
		boshblob.NewLocalBlobstore(d.fs, boshuuid.NewGenerator(), map[string]interface{}{"blobstore_path": blobPath}),
		d.fs, algorithms)
	delegator := blobstore_delegator.NewBlobstoreDelegator(
		httpblobprovider.NewHTTPBlobImpl(d.fs, http.DefaultClient), blobs, d.logger)
	packageAppliers := boshap.NewCompiledPackageApplierProvider(
		dirs.DataDir(), dirs.BaseDir(), dirs.JobsDir(), "packages", delegator, compressor, d.fs, clk, d.logger)
	compiler := boshcomp.NewConcreteCompiler(
		compressor, delegator, d.fs,
		boshrunner.NewFileLoggingCmdRunner(d.fs, d.runner, dirs.LogsDir(), 10*1024),
		dirs, packageAppliers.Root(), packageAppliers.RootBundleCollection(), clk)

	packages := []models.Package{}
	packageSpecs := map[string]boshas.PackageSpec{}
	for _, pkg := range job.Packages {
		source, ok := pkg.(interface{ ArchivePath() string })
		if !ok {
			return fmt.Errorf("package %s has no source archive", pkg.Name())
		}
		sourceID, sourceDigest, err := blobs.Create(source.ArchivePath())
		if err != nil {
			return fmt.Errorf("storing package %s: %w", pkg.Name(), err)
		}
		compiledID, compiledDigest, err := compiler.Compile(boshcomp.Package{
			Name: pkg.Name(), Version: pkg.Fingerprint(), BlobstoreID: sourceID, Sha1: sourceDigest,
		}, nil)
		if err != nil {
			return fmt.Errorf("compiling package %s: %w", pkg.Name(), err)
		}
		multiple := boshcrypto.MustNewMultipleDigest(compiledDigest)
		packages = append(packages, models.Package{
			Name: pkg.Name(), Version: pkg.Fingerprint(),
			Source: models.Source{Sha1: multiple, BlobstoreID: compiledID},
		})
		packageSpecs[pkg.Name()] = boshas.PackageSpec{
			Name: pkg.Name(), Version: pkg.Fingerprint(), Sha1: multiple, BlobstoreID: compiledID,
		}
	}

	// The rendered templates archive: one directory per job.
	staging, err := d.fs.TempDir("rendered-templates")
	if err != nil {
		return err
	}
	defer func() { _ = d.fs.RemoveAll(staging) }()
	if err := d.fs.CopyDir(*rendered, filepath.Join(staging, job.Name())); err != nil {
		return err
	}
	archive, err := compressor.CompressFilesInDir(staging)
	if err != nil {
		return err
	}
	defer func() { _ = compressor.CleanUp(archive) }()
	archiveID, archiveDigest, err := blobs.Create(archive)
	if err != nil {
		return err
	}

	spec := boshas.V1ApplySpec{
		Deployment: "haproxy",
		Name:       "haproxy",
		JobSpec: boshas.JobSpec{
			Name:             &[]string{"haproxy"}[0],
			Template:         job.Name(),
			JobTemplateSpecs: []boshas.JobTemplateSpec{{Name: job.Name(), Version: job.Fingerprint()}},
		},
		PackageSpecs:                 packageSpecs,
		RenderedTemplatesArchiveSpec: &boshas.RenderedTemplatesArchiveSpec{Sha1: &archiveDigest, BlobstoreID: archiveID},
	}
	jobApplier := boshaj.NewRenderedJobApplier(
		delegator, dirs,
		boshbc.NewFileBundleCollection(dirs.DataDir(), dirs.BaseDir(), "jobs", os.FileMode(0750), d.fs, clk, compressor, d.logger),
		jobsupervisor.NewDummyJobSupervisor(), packageAppliers, boshaj.FixPermissions, d.fs, d.logger)
	for _, pkg := range packages {
		if err := packageAppliers.Root().Apply(pkg); err != nil {
			return fmt.Errorf("installing package %s: %w", pkg.Name, err)
		}
	}
	for _, job := range spec.Jobs() {
		if err := jobApplier.Prepare(job); err != nil {
			return fmt.Errorf("preparing job %s: %w", job.Name, err)
		}
		if err := jobApplier.Apply(job); err != nil {
			return fmt.Errorf("installing job %s: %w", job.Name, err)
		}
	}
	return boshas.NewConcreteV1Service(d.fs, specPath(dirs)).Set(spec)
}

// setupSys makes the stemcell's sys dirs as the agent's platform does at
// boot (platform/linux_platform.go, SetupDataDir and setupRunDir):
// data/sys/log and data/sys/run 0750 root:vcap, and /var/vcap/sys a link
// to data/sys. So the job's log dir that the scripts use,
// /var/vcap/sys/log/<job>, is the one the agent's Job.CreateDirectories
// makes (0770 root:vcap) at every apply. The run dir's tmpfs is left out:
// nothing of ours is kept there. Done once; a later apply finds it.
func setupSys(d deps, dirs boshdirs.Provider) error {
	sysData := filepath.Join(dirs.DataDir(), "sys")
	sys := filepath.Join(dirs.BaseDir(), "sys")
	if _, err := os.Lstat(sys); err == nil {
		return nil
	}
	for _, dir := range []string{sysData, filepath.Join(sysData, "log"), filepath.Join(sysData, "run")} {
		if err := d.fs.MkdirAll(dir, 0o750); err != nil {
			return err
		}
		if _, _, _, err := d.runner.RunCommand("chown", "root:vcap", dir); err != nil {
			return fmt.Errorf("chown %s: %w", dir, err)
		}
	}
	return d.fs.Symlink(sysData, sys)
}

// specPath is where the agent keeps the instance's apply spec.
func specPath(dirs boshdirs.Provider) string {
	return filepath.Join(dirs.BoshDir(), "spec.json")
}
