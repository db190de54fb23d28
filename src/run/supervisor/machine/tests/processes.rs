//! Processes of the live release: scaling, crash backoff, restarts in place, and stopping.

use super::*;
use crate::run::supervisor::machine::generation::backoff;

#[test]
fn a_scale_during_resume_is_applied_when_the_release_starts() {
    let mut sim = Sim::new();
    // The supervisor is still preparing the current release when `ps:scale` asks.
    let req = sim.req();
    let actions = sim.step(Event::Scale {
        req,
        formation: formation(&["web=2", "worker=0"]),
        ports: vec![],
    });
    assert_eq!(answer_to(&actions, req), Some(Answer::Done));
    assert!(spawns(&actions).is_empty());
    // The resume read the formation before the scale saved it.
    let actions = sim.step(Event::Resume {
        release: release(1, WEB_AND_WORKER),
        formation: Formation::default(),
        ports: vec![5001, 5002],
    });
    assert_eq!(logs(&actions)[0], "supervisor: Starting v1 (2 processes)");
    let names: Vec<String> = spawns(&actions).into_iter().map(|s| s.1).collect();
    assert_eq!(names, ["web.1", "web.2"]);
    assert_eq!(sim.state.live_version(), Some(1));
    // Resumed processes join the pool as they come up.
    let actions = sim.answer(&actions, Check::Healthy);
    assert_eq!(pools(&actions).len(), 2);
    assert_eq!(sim.ps(), ["web.1 up v1 :5001", "web.2 up v1 :5002"]);

    // A second resume (a deploy went live meanwhile) changes nothing.
    let actions = sim.step(Event::Resume {
        release: release(1, WEB_AND_WORKER),
        formation: Formation::default(),
        ports: vec![5003],
    });
    assert!(actions.is_empty(), "{actions:#?}");
}

#[test]
fn a_process_scaled_down_and_up_within_its_grace_is_not_confused_with_the_draining_one() {
    let mut sim = Sim::new();
    let v1 = sim.deploy(
        release(1, "web: serve\n"),
        formation(&["web=2"]),
        &[5001, 5002],
    );
    let old = sim.run(1, "web.2");
    let req = sim.req();
    let actions = sim.step(Event::Scale {
        req,
        formation: formation(&["web=1"]),
        ports: vec![5003],
    });
    // Out of the pool before it is told to stop.
    assert_eq!(actions[0], Action::RemoveBackend(5002));
    assert_eq!(signals(&actions), [(old, Signal::Term)]);

    let req = sim.req();
    let actions = sim.step(Event::Scale {
        req,
        formation: formation(&["web=2"]),
        ports: vec![5004, 5005],
    });
    let new = sim.run(1, "web.2");
    assert_ne!(new, old);
    assert_eq!(spawns(&actions), [(new, "web.2".into(), Some(5004))]);
    assert_eq!(
        sim.ps(),
        [
            "web.1 up v1 :5001",
            "web.2 stopping v1 :5002",
            "web.2 starting v1 :5004"
        ]
    );
    // The new one is checked and marked up by its own run, not by its name.
    assert_eq!(checks(&actions), [(new, 5004)]);
    let actions = sim.step(Event::Checked {
        run: new,
        check: Check::Healthy,
    });
    assert_eq!(
        pools(&actions),
        [&Action::AddBackend(Backend {
            generation: v1,
            port: 5004
        })]
    );
    assert_eq!(logs(&actions), ["web.2: State changed from starting to up"]);
    // A late check of the draining one changes nothing.
    assert!(
        sim.step(Event::Checked {
            run: old,
            check: Check::Healthy,
        })
        .is_empty()
    );
    // The draining one exits: gone for good, and its successor untouched.
    let actions = sim.step(Event::Exited {
        run: old,
        how: "exit 0".into(),
        tail: Vec::new(),
    });
    assert_eq!(logs(&actions), ["web.2: Process exited (exit 0)"]);
    assert!(spawns(&actions).is_empty() && pools(&actions).is_empty());
    assert_eq!(sim.ps(), ["web.1 up v1 :5001", "web.2 up v1 :5004"]);
    assert!(spawns(&sim.wait(40 * SEC)).is_empty());
}

#[test]
fn a_crashing_process_waits_longer_each_time_up_to_the_cap_and_afresh_after_a_stable_run() {
    assert_eq!(backoff(0), 500 * MS);
    assert_eq!(backoff(5), 16 * SEC);
    assert_eq!(backoff(6), MAX_BACKOFF);
    assert_eq!(backoff(u32::MAX), MAX_BACKOFF);

    let mut sim = Sim::new();
    sim.step(Event::Resume {
        release: release(1, "worker: work\n"),
        formation: Formation::default(),
        ports: vec![],
    });
    let mut said = Vec::new();
    for (restarts, delay) in [500, 1000, 2000, 4000, 8000, 16000, 30000, 30000]
        .into_iter()
        .enumerate()
    {
        let actions = sim.step(Event::Exited {
            run: sim.run(1, "worker.1"),
            how: "exit 1".into(),
            tail: Vec::new(),
        });
        said.push(logs(&actions)[1].clone());
        assert_eq!(sim.ps(), ["worker.1 crashed v1"]);
        assert!(spawns(&sim.wait((delay - 1) * MS)).is_empty());
        let actions = sim.wait(MS);
        assert_eq!(spawns(&actions).len(), 1, "restart {restarts}");
        assert_eq!(sim.state.processes()[0].restarts, restarts as u32 + 1);
    }
    assert_eq!(
        said,
        [
            "worker.1: State changed to crashed; restarting in 500ms",
            "worker.1: State changed to crashed; restarting in 1s",
            "worker.1: State changed to crashed; restarting in 2s",
            "worker.1: State changed to crashed; restarting in 4s",
            "worker.1: State changed to crashed; restarting in 8s",
            "worker.1: State changed to crashed; restarting in 16s",
            "worker.1: State changed to crashed; restarting in 30s",
            "worker.1: State changed to crashed; restarting in 30s",
        ]
    );
    // It ran for a minute this time: the next crash is treated as the first.
    sim.wait(STABLE);
    let actions = sim.step(Event::Exited {
        run: sim.run(1, "worker.1"),
        how: "exit 1".into(),
        tail: Vec::new(),
    });
    assert_eq!(
        logs(&actions)[1],
        "worker.1: State changed to crashed; restarting in 500ms"
    );
}

#[test]
fn a_restart_of_one_type_stops_and_starts_its_processes_in_place() {
    let mut sim = Sim::new();
    let req = sim.req();
    let actions = sim.step(Event::Restart {
        req,
        target: "web".parse().unwrap(),
        formation: Formation::default(),
        ports: vec![5009],
    });
    assert_eq!(
        answer_to(&actions, req),
        Some(Answer::Failed {
            reason: "nothing is running".into(),
            detail: vec![]
        })
    );
    let v1 = sim.deploy(release(1, "web: serve\n"), Formation::default(), &[5001]);
    let first = sim.run(1, "web.1");
    let req = sim.req();
    let actions = sim.step(Event::Restart {
        req,
        target: "web".parse().unwrap(),
        formation: Formation::default(),
        ports: vec![5009],
    });
    assert_eq!(answer_to(&actions, req), Some(Answer::Done));
    assert_eq!(actions[0], Action::RemoveBackend(5001));
    assert_eq!(signals(&actions), [(first, Signal::Term)]);
    // Started again as soon as it is gone, on the same port, and checked before it takes traffic.
    let actions = sim.step(Event::Exited {
        run: first,
        how: "exit 0".into(),
        tail: Vec::new(),
    });
    let second = sim.run(1, "web.1");
    assert_eq!(spawns(&actions), [(second, "web.1".into(), Some(5001))]);
    assert!(actions.contains(&Action::Check {
        run: second,
        port: 5001,
        path: None,
        timeout: TICK,
        scan: false,
    }));
    let actions = sim.step(Event::Checked {
        run: second,
        check: Check::NotListening,
    });
    assert!(actions.is_empty());
    let actions = sim.wait(TICK);
    assert_eq!(checks(&actions), [(second, 5001)]);
    let actions = sim.answer(&actions, Check::Healthy);
    assert_eq!(
        pools(&actions),
        [&Action::AddBackend(Backend {
            generation: v1,
            port: 5001
        })]
    );
    assert_eq!(sim.state.processes()[0].restarts, 1);

    let req = sim.req();
    let actions = sim.step(Event::Restart {
        req,
        target: "worker".parse().unwrap(),
        formation: Formation::default(),
        ports: vec![],
    });
    assert_eq!(
        answer_to(&actions, req),
        Some(Answer::Failed {
            reason: "no worker processes are running".into(),
            detail: vec![]
        })
    );
}

#[test]
fn a_stop_stops_everything_and_is_answered_once_every_process_is_gone() {
    let mut sim = Sim::new();
    sim.deploy(release(1, "web: serve\n"), Formation::default(), &[5001]);
    let (launch, _) = sim.launch(release(2, "web: serve\n"), Formation::default(), &[5002]);
    let stop = sim.req();
    let actions = sim.step(Event::Stop { req: stop });
    assert_eq!(
        actions[..2],
        [Action::SetBackends(vec![]), Action::CloseListener]
    );
    assert_eq!(logs(&actions)[0], "supervisor: Stopping every process");
    let (v1, v2) = (sim.run(1, "web.1"), sim.run(2, "web.1"));
    assert_eq!(signals(&actions), [(v1, Signal::Term), (v2, Signal::Term)]);
    assert_eq!(
        answer_to(&actions, launch),
        Some(Answer::Failed {
            reason: "the supervisor is stopping".into(),
            detail: vec![]
        })
    );
    assert_eq!(answer_to(&actions, stop), None);
    // Nothing new starts now.
    let (late, actions) = sim.launch(release(3, "web: serve\n"), Formation::default(), &[5003]);
    assert!(spawns(&actions).is_empty());
    assert!(matches!(
        answer_to(&actions, late),
        Some(Answer::Failed { .. })
    ));

    sim.step(Event::Exited {
        run: v1,
        how: "exit 0".into(),
        tail: Vec::new(),
    });
    assert!(!sim.state.is_finished());
    let actions = sim.step(Event::Exited {
        run: v2,
        how: "exit 0".into(),
        tail: Vec::new(),
    });
    assert_eq!(
        logs(&actions),
        ["web.1: Process exited (exit 0)", "supervisor: v2 stopped"]
    );
    assert_eq!(answer_to(&actions, stop), Some(Answer::Done));
    assert!(sim.state.is_finished());
}

#[test]
fn a_stop_is_answered_after_the_grace_even_if_a_process_outlives_sigkill() {
    let mut sim = Sim::new();
    sim.deploy(release(1, "web: serve\n"), Formation::default(), &[5001]);
    let stop = sim.req();
    sim.step(Event::Stop { req: stop });
    let actions = sim.wait(2 * SEC);
    assert_eq!(signals(&actions), [(sim.run(1, "web.1"), Signal::Kill)]);
    assert_eq!(answer_to(&sim.wait(4999 * MS), stop), None);
    assert_eq!(answer_to(&sim.wait(MS), stop), Some(Answer::Done));
    assert!(!sim.state.is_finished(), "the process is still there");
}

#[test]
fn a_stopped_or_killed_process_stays_stopped_until_restarted_by_name() {
    let mut sim = Sim::new();
    let two = formation(&["web=2"]);
    sim.deploy(release(1, WEB_AND_WORKER), two.clone(), &[5001, 5002]);
    let web2 = sim.run(1, "web.2");
    let req = sim.req();
    let actions = sim.step(Event::StopProcess {
        req,
        target: "web.2".parse().unwrap(),
        kill: false,
    });
    assert_eq!(answer_to(&actions, req), Some(Answer::Done));
    assert_eq!(actions[0], Action::RemoveBackend(5002));
    assert_eq!(signals(&actions), [(web2, Signal::Term)]);
    sim.step(Event::Exited {
        run: web2,
        how: "exit 0".into(),
        tail: Vec::new(),
    });
    // Not started again, however long it waits.
    assert!(spawns(&sim.wait(60 * SEC)).is_empty());
    assert_eq!(sim.ps(), ["web.1 up v1 :5001", "worker.1 up v1"]);

    // ps:kill: SIGKILL at once, no grace.
    let worker = sim.run(1, "worker.1");
    let req = sim.req();
    let actions = sim.step(Event::StopProcess {
        req,
        target: "worker".parse().unwrap(),
        kill: true,
    });
    assert_eq!(signals(&actions), [(worker, Signal::Kill)]);
    assert_eq!(logs(&actions), ["worker.1: Stopping process with SIGKILL"]);
    sim.step(Event::Exited {
        run: worker,
        how: "killed by signal 9".into(),
        tail: Vec::new(),
    });
    let req = sim.req();
    let actions = sim.step(Event::StopProcess {
        req,
        target: "worker.1".parse().unwrap(),
        kill: false,
    });
    assert_eq!(
        answer_to(&actions, req),
        Some(Answer::Failed {
            reason: "no worker.1 process is running".into(),
            detail: vec![]
        })
    );

    // Restarting it by name starts it again, on a new port, checked before it takes traffic.
    let req = sim.req();
    let actions = sim.step(Event::Restart {
        req,
        target: "web.2".parse().unwrap(),
        formation: two,
        ports: vec![5003],
    });
    assert_eq!(answer_to(&actions, req), Some(Answer::Done));
    let web2 = sim.run(1, "web.2");
    assert_eq!(spawns(&actions), [(web2, "web.2".into(), Some(5003))]);
    let actions = sim.answer(&actions, Check::Healthy);
    assert_eq!(pools(&actions).len(), 1);
    assert_eq!(sim.ps(), ["web.1 up v1 :5001", "web.2 up v1 :5003"]);
}
