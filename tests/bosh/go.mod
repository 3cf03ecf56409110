// The BOSH test harness: bosh-cli's release reader and ERB renderer (what
// `bosh create-env` uses) and bosh-agent's action dispatcher, driven by the
// Rust tests in tests/bosh_release.rs. Exact versions only: bosh-cli 7.8.6
// (the CLI scripts/lib/tools.sh builds) and the bosh-agent and bosh-utils it
// requires; the module proxy is never asked for a version list.
module inject.test/bosh-harness

go 1.22.0

require (
	code.cloudfoundry.org/clock v1.24.0
	github.com/cloudfoundry/bosh-agent/v2 v2.704.1-0.20241217153539-fa24471a8f6e
	github.com/cloudfoundry/bosh-cli/v7 v7.8.6
	github.com/cloudfoundry/bosh-utils v0.0.515
)

require (
	code.cloudfoundry.org/tlsconfig v0.12.0 // indirect
	github.com/bmatcuk/doublestar v1.3.4 // indirect
	github.com/charlievieth/fs v0.0.3 // indirect
	github.com/cloudfoundry/go-socks5 v0.0.0-20240831012420-2590b55236ee // indirect
	github.com/cloudfoundry/gosigar v1.3.79 // indirect
	github.com/cloudfoundry/socks5-proxy v0.2.135 // indirect
	github.com/containerd/cgroups v1.1.0 // indirect
	github.com/coreos/go-iptables v0.8.0 // indirect
	github.com/coreos/go-systemd/v22 v22.5.0 // indirect
	github.com/docker/go-units v0.5.0 // indirect
	github.com/godbus/dbus/v5 v5.1.0 // indirect
	github.com/gogo/protobuf v1.3.2 // indirect
	github.com/jpillora/backoff v1.0.0 // indirect
	github.com/nu7hatch/gouuid v0.0.0-20131221200532-179d4d0c4d8d // indirect
	github.com/opencontainers/runtime-spec v1.2.0 // indirect
	github.com/pivotal-cf/paraphernalia v0.0.0-20180203224945-a64ae2051c20 // indirect
	github.com/pivotal/go-smtpd v0.0.0-20140108210614-0af6982457e5 // indirect
	golang.org/x/crypto v0.31.0 // indirect
	golang.org/x/net v0.33.0 // indirect
	golang.org/x/sys v0.28.0 // indirect
	golang.org/x/text v0.21.0 // indirect
	gopkg.in/yaml.v2 v2.4.0 // indirect
	gopkg.in/yaml.v3 v3.0.1 // indirect
)
