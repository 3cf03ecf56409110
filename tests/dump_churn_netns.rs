//! `inject status` while the kernel's tables change under it: a dump the
//! kernel marks interrupted (`NLM_F_DUMP_INTR`) is read again, so every
//! report is whole (each of the 3 000 steady addresses exactly once) or
//! says it may not be (`dump_interrupted`), never silently short.

mod common;
use common::{netns, INJECT};

use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use netns::{can_run, SeedVm};
use serde_json::Value;

const STEADY: usize = 3000;

#[test]
fn reports_under_address_churn_are_whole_or_say_they_may_not_be() {
    if !can_run("reports_under_address_churn_are_whole_or_say_they_may_not_be") {
        return;
    }
    let seed = SeedVm::new();
    let batch: String = (0..STEADY)
        .map(|i| format!("addr add 10.{}.{}.1/32 dev eth0\n", 100 + i / 250, i % 250))
        .collect();
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), batch).unwrap();
    let out = Command::new("ip")
        .args(["-n", &seed.vm, "-batch"])
        .arg(file.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // Another address comes and goes on eth1 all along.
    let stop = Arc::new(AtomicBool::new(false));
    let churn = {
        let (stop, vm) = (stop.clone(), seed.vm.clone());
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                for verb in ["add", "del"] {
                    let _ = Command::new("ip")
                        .args(["-n", &vm, "addr", verb, "192.0.2.7/32", "dev", "eth1"])
                        .output();
                }
            }
        })
    };
    for run in 0..15 {
        let out = seed
            .command(INJECT)
            .args(["status", "--json"])
            .env_remove("INJECT_CONFIG")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "run {run}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let v: Value = serde_json::from_slice(&out.stdout).expect("whole JSON");
        let eth0 = v["interfaces"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["name"] == "eth0")
            .unwrap();
        let steady = eth0["addresses"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|a| a["address"].as_str().unwrap().starts_with("10.1"))
            .count();
        let warned = v["findings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["code"] == "dump_interrupted");
        assert!(
            steady == STEADY || warned,
            "run {run}: {steady} of {STEADY} addresses and no dump_interrupted finding"
        );
    }
    stop.store(true, Ordering::Relaxed);
    churn.join().unwrap();
}
