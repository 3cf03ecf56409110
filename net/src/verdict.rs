//! The network half of `inject run`'s summary line: per family, whether a
//! usable default route is there, and the findings by code, read after the
//! commands ran. The same reading and the same findings as `inject status`
//! (a [`RouteSummary`] gathered from the route dump), only compact.

use inject_errands::summary::{FindingRef, Network};

use crate::findings::{family_status, Expected, FamilyState, Finding};
use crate::model::{Family, Snapshot};
use crate::read::{NetError, Reader};
use crate::report;
use crate::streaming::RouteSummary;

/// The kernel's state now, as the summary line holds it.
pub fn read_verdict(expected: &Expected) -> Result<Network, NetError> {
    let mut reader = Reader::open()?;
    let base = report::base_snapshot(&mut reader, false)?;
    let mut summary = RouteSummary::new(base);
    let mut routes = reader.routes();
    while let Some(route) = routes.next()? {
        summary.add(&route);
    }
    let findings = summary.findings(expected);
    Ok(verdict_of(&summary.snapshot, &findings))
}

/// `snapshot`'s verdict with its `findings` (a pure function, for tests).
pub fn verdict_of(snapshot: &Snapshot, findings: &[Finding]) -> Network {
    let state = |family| default_state(family_status(snapshot, family).state).to_string();
    Network {
        ipv4: state(Family::Ipv4),
        ipv6: state(Family::Ipv6),
        findings: findings
            .iter()
            .map(|f| FindingRef {
                code: f.code.as_str().to_string(),
                severity: f.severity.as_str().to_string(),
                family: f.family.map(|f| f.as_str().to_string()),
            })
            .collect(),
    }
}

/// `present`, `missing`, `unusable` or `unconfigured`: the words of the
/// summary line and of `inject fleet`.
pub fn default_state(state: FamilyState) -> &'static str {
    match state {
        FamilyState::Ok => "present",
        FamilyState::Missing => "missing",
        FamilyState::Down => "unusable",
        FamilyState::Unconfigured => "unconfigured",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::findings::{findings, Code};
    use crate::fixtures;

    #[test]
    fn the_summarys_finding_codes_are_the_inspectors() {
        use inject_errands::summary::FINDING_CODES;
        // Every code, written out: a new `Code` fails the match below
        // until it is added here and to FINDING_CODES.
        let all = [
            Code::MissingDefaultRoute,
            Code::DefaultRouteViaDownInterface,
            Code::GatewayNotOnLink,
            Code::DuplicateDefaultRoutes,
            Code::AddressDadfailed,
            Code::AddressTentative,
            Code::ExpectedAddressMissing,
            Code::DefaultRouteUnusable,
            Code::DefaultRouteFromRa,
            Code::DefaultGatewayUnreachable,
            Code::DumpInterrupted,
        ];
        for code in all {
            match code {
                Code::MissingDefaultRoute
                | Code::DefaultRouteViaDownInterface
                | Code::GatewayNotOnLink
                | Code::DuplicateDefaultRoutes
                | Code::AddressDadfailed
                | Code::AddressTentative
                | Code::ExpectedAddressMissing
                | Code::DefaultRouteUnusable
                | Code::DefaultRouteFromRa
                | Code::DefaultGatewayUnreachable
                | Code::DumpInterrupted => {}
            }
        }
        let names: Vec<&str> = all.iter().map(|c| c.as_str()).collect();
        assert_eq!(names, FINDING_CODES);
    }

    #[test]
    fn the_seed_vm_lacks_its_ipv6_default() {
        let snapshot = fixtures::seed_vm();
        let verdict = verdict_of(&snapshot, &findings(&snapshot));
        assert_eq!(verdict.ipv4, "present");
        assert_eq!(verdict.ipv6, "missing");
        assert!(verdict
            .findings
            .iter()
            .any(|f| f.code == "missing_default_route" && f.family.as_deref() == Some("ipv6")));
    }
}
