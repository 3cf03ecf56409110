//! The summary line `inject run` ends with (format: `inject_errands::summary`):
//! the results as the run reported them, the network as it is once the
//! commands ran, and what `fail_on_findings` makes of it.

use std::io::Write;

use inject_errands::config::{Config, Phase};
use inject_errands::run_event::{RunEvent, Summary};
use inject_errands::summary::{CommandResult, Counts, RunSummary, FINDINGS_EXIT, VERSION};
use inject_net::{findings::config_gateways, verdict};

/// Each command's result, from the events the run printed.
#[derive(Default)]
pub struct Collector {
    commands: Vec<CommandResult>,
}

impl Collector {
    pub fn observe(&mut self, event: &RunEvent) {
        if let RunEvent::Finished {
            name,
            outcome,
            duration,
            attempts,
            ..
        } = event
        {
            self.commands.push(CommandResult::new(
                name,
                outcome,
                *attempts,
                duration.as_secs_f64(),
            ));
        }
    }

    /// Reads the network, prints the line last on stdout (as an event line
    /// with `json`) and returns the exit code `fail_on_findings` asks for.
    pub fn finish(self, config: &Config, phase: Phase, run: &Summary, json: bool) -> Option<u8> {
        let summary = self.summary(config, phase, run);
        let line = if json {
            summary.json_line()
        } else {
            summary.text_line()
        };
        // Stdout gone (a closed pipe) costs the line, not the exit code.
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "{line}").and_then(|()| out.flush());
        // A network that could not be read cannot show the findings gone.
        let unchecked = summary.network.is_none() && !fail_on(config, phase).is_empty();
        if unchecked {
            eprintln!(
                "inject: fail_on_findings: the network could not be read after the run ({}); exit {FINDINGS_EXIT}",
                summary.network_error.as_deref().unwrap_or("unknown error")
            );
        } else if !summary.failing_findings.is_empty() {
            eprintln!(
                "inject: fail_on_findings: {} remains after the run; exit {FINDINGS_EXIT}",
                summary.failing_findings.join(", ")
            );
        }
        (unchecked || !summary.failing_findings.is_empty()).then_some(FINDINGS_EXIT)
    }

    fn summary(self, config: &Config, phase: Phase, run: &Summary) -> RunSummary {
        let (network, network_error) = match verdict::read_verdict(&config_gateways(config)) {
            Ok(network) => (Some(network), None),
            Err(err) => (None, Some(err.to_string())),
        };
        let failing_findings = fail_on(config, phase)
            .iter()
            .filter(|code| {
                network
                    .as_ref()
                    .is_some_and(|n| n.findings.iter().any(|f| &&f.code == code))
            })
            .cloned()
            .collect();
        // Results the print budget did not show are counted, not listed.
        let commands_cut = run.total.saturating_sub(self.commands.len());
        RunSummary {
            v: VERSION,
            instance: config.instance.clone(),
            phase: phase.to_string(),
            counts: Counts::from(run),
            commands: self.commands,
            commands_cut,
            network,
            network_error,
            failing_findings,
        }
    }
}

/// The `fail_on_findings` codes that apply to `phase`: the errand's only.
/// A lifecycle hook that failed on a finding could make an instance
/// unstoppable (post-stop) or a deploy fail on what the errand reports.
fn fail_on(config: &Config, phase: Phase) -> &[String] {
    if phase == Phase::Errand {
        &config.fail_on_findings
    } else {
        &[]
    }
}
