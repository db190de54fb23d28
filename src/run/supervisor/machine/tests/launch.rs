//! Launches and switches: health checks, their deadlines and failures, and a restart racing a deploy.

use super::*;

#[test]
fn a_launch_answers_once_web_is_healthy_and_a_switch_retires_the_old_release_once_drained() {
    let mut sim = Sim::new();
    let (req, actions) = sim.launch(release(1, WEB_AND_WORKER), Formation::default(), &[5001]);
    assert_eq!(
        logs(&actions)[..2],
        [
            "supervisor: Starting v1 (2 processes)",
            "web.1: Starting process with command `python3 server.py` (v1, PORT=5001)",
        ]
    );
    let started = spawns(&actions);
    assert_eq!(started.len(), 2);
    assert_eq!((started[0].1.as_str(), started[0].2), ("web.1", Some(5001)));
    assert_eq!(checks(&actions), [(started[0].0, 5001)]);
    assert_eq!(answer_to(&actions, req), None);

    let actions = sim.answer(&actions, Check::Healthy);
    let Some(Answer::Launched(v1)) = answer_to(&actions, req) else {
        panic!("{actions:#?}")
    };
    // Nothing takes traffic before the switch.
    assert!(pools(&actions).is_empty());
    assert_eq!(sim.ps(), ["web.1 up v1 :5001", "worker.1 up v1"]);
    let switch = sim.req();
    let actions = sim.step(Event::Switch {
        req: switch,
        generation: v1,
    });
    assert_eq!(
        pools(&actions),
        [&Action::SetBackends(vec![Backend {
            generation: v1,
            port: 5001
        }])]
    );
    assert_eq!(logs(&actions), ["supervisor: v1 is live"]);

    let v2 = sim.deploy(release(2, WEB_AND_WORKER), Formation::default(), &[5002]);
    assert_eq!(sim.state.live_version(), Some(2));
    assert_eq!(sim.state.draining(), [v1]);
    // Its connections still open: v1 runs on.
    assert!(signals(&sim.wait(SEC)).is_empty());
    let actions = sim.step(Event::Drained { generation: v1 });
    let (web1, worker1) = (sim.run(1, "web.1"), sim.run(1, "worker.1"));
    assert_eq!(
        signals(&actions),
        [(web1, Signal::Term), (worker1, Signal::Term)]
    );
    // A process that ignores SIGTERM gets SIGKILL after the grace, once.
    let actions = sim.wait(2 * SEC);
    assert_eq!(
        signals(&actions),
        [(web1, Signal::Kill), (worker1, Signal::Kill)]
    );
    assert!(signals(&sim.wait(SEC)).is_empty());
    sim.step(Event::Exited {
        run: web1,
        how: "killed by signal 9".into(),
        tail: Vec::new(),
    });
    let actions = sim.step(Event::Exited {
        run: worker1,
        how: "killed by signal 9".into(),
        tail: Vec::new(),
    });
    assert_eq!(
        logs(&actions),
        [
            "worker.1: Process exited (killed by signal 9)",
            "supervisor: v1 stopped"
        ]
    );
    assert_eq!(sim.ps(), ["web.1 up v2 :5002", "worker.1 up v2"]);
    assert!(sim.state.gens.iter().all(|g| g.id == v2));
}

#[test]
fn a_switch_stops_the_previous_release_after_its_grace_even_with_connections_open() {
    let mut sim = Sim::new();
    sim.deploy(release(1, "web: serve\n"), Formation::default(), &[5001]);
    sim.deploy(release(2, "web: serve\n"), Formation::default(), &[5002]);
    let old = sim.run(1, "web.1");
    assert!(signals(&sim.wait(1999 * MS)).is_empty());
    let actions = sim.wait(MS);
    assert_eq!(signals(&actions), [(old, Signal::Term)]);
    assert_eq!(logs(&actions), ["web.1: Stopping process with SIGTERM"]);
    // Retired processes are no longer in the pool: no backend change.
    assert!(pools(&actions).is_empty());
    assert_eq!(sim.ps(), ["web.1 stopping v1 :5001", "web.1 up v2 :5002"]);
}

#[test]
fn a_launch_whose_web_process_exits_before_it_is_healthy_fails_at_once_with_its_last_output() {
    let mut sim = Sim::new();
    sim.deploy(release(1, WEB_AND_WORKER), Formation::default(), &[5001]);
    let (req, actions) = sim.launch(release(2, WEB_AND_WORKER), Formation::default(), &[5002]);
    let actions = sim.answer(&actions, Check::NotListening);
    assert_eq!(answer_to(&actions, req), None);
    let actions = sim.step(Event::Exited {
        run: sim.run(2, "web.1"),
        how: "exit 3".into(),
        tail: vec!["starting up".into(), "out of memory".into()],
    });
    assert_eq!(
        answer_to(&actions, req),
        Some(Answer::Failed {
            reason: "v2 did not start: web.1 exited (exit 3)".into(),
            detail: vec!["starting up".into(), "out of memory".into()],
        })
    );
    assert_eq!(
        logs(&actions),
        [
            "web.1: Process exited (exit 3)",
            "supervisor: v2 did not become healthy; stopping it",
            "worker.1: Stopping process with SIGTERM",
        ]
    );
    assert_eq!(signals(&actions), [(sim.run(2, "worker.1"), Signal::Term)]);
    assert!(pools(&actions).is_empty());
    assert_eq!(sim.state.live_version(), Some(1));
    // Crashed processes of a release that is not live are not restarted.
    assert!(spawns(&sim.wait(40 * SEC)).is_empty());
}

#[test]
fn a_launch_that_never_becomes_healthy_fails_at_the_health_timeout() {
    let mut sim = Sim::new();
    sim.deploy(release(1, "web: serve\n"), Formation::default(), &[5001]);
    let mut v2 = release(2, "web: serve\n");
    v2.health_path = Some("/health".into());
    v2.health_timeout = 3 * SEC;
    let (req, mut actions) = sim.launch(v2, Formation::default(), &[5002]);
    let run = sim.run(2, "web.1");
    let mut checked_at = Vec::new();
    let begun = sim.now;
    while answer_to(&actions, req).is_none() {
        for a in &actions {
            if let Action::Check { path, timeout, .. } = a {
                assert_eq!((path.as_deref(), *timeout), (Some("/health"), SEC));
                checked_at.push(sim.now - begun);
            }
        }
        let mut next = sim.answer(&actions, Check::NotListening);
        if checks(&next).is_empty() && answer_to(&next, req).is_none() {
            next.extend(sim.wait(MS));
        }
        actions = next;
    }
    assert_eq!(sim.now - begun, 3 * SEC);
    assert_eq!(
        answer_to(&actions, req),
        Some(Answer::Failed {
            reason: "v2 did not become healthy in 3s".into(),
            detail: vec!["web.1 did not accept connections on port 5002".into()],
        })
    );
    assert_eq!(signals(&actions), [(run, Signal::Term)]);
    // Often in the first second, then every tick.
    assert_eq!(checked_at[1] - checked_at[0], 5 * MS);
    let late: Vec<Duration> = checked_at
        .iter()
        .copied()
        .filter(|t| *t > 2 * SEC)
        .collect();
    assert_eq!(late[1] - late[0], 100 * MS);
    assert_eq!(sim.state.live_version(), Some(1));

    // A bad answer is reported as the check saw it.
    let mut v3 = release(3, "web: serve\n");
    v3.health_timeout = SEC;
    let (req, actions) = sim.launch(v3, Formation::default(), &[5003]);
    sim.answer(
        &actions,
        Check::BadAnswer("it answered /health with 'HTTP/1.0 500'".into()),
    );
    let actions = sim.wait(SEC);
    assert_eq!(
        answer_to(&actions, req),
        Some(Answer::Failed {
            reason: "v3 did not become healthy in 1s".into(),
            detail: vec!["web.1: it answered /health with 'HTTP/1.0 500'".into()],
        })
    );
}

#[test]
fn a_launch_whose_web_process_listens_elsewhere_fails_after_a_grace_not_the_health_timeout() {
    let mut sim = Sim::new();
    let mut v1 = release(1, "web: serve\n");
    v1.health_timeout = 60 * SEC;
    let (req, mut actions) = sim.launch(v1, Formation::default(), &[5001]);
    let begun = sim.now;
    // The first check looks in /proc; the next ones only once a tick.
    let scans = |actions: &[Action]| -> Vec<bool> {
        actions
            .iter()
            .filter_map(|a| match a {
                Action::Check { scan, .. } => Some(*scan),
                _ => None,
            })
            .collect()
    };
    assert_eq!(scans(&actions), [true]);
    actions = sim.answer(&actions, Check::NotListening);
    actions.extend(sim.wait(5 * MS));
    assert_eq!(scans(&actions), [false]);
    // A second port opened before its own (a debugger, say) is not a failure yet.
    while answer_to(&actions, req).is_none() {
        let mut next = sim.answer(&actions, Check::Elsewhere(3000));
        if checks(&next).is_empty() && answer_to(&next, req).is_none() {
            next.extend(sim.wait(MS));
        }
        actions = next;
    }
    assert!(
        sim.now - begun < ELSEWHERE_GRACE + 200 * MS,
        "{:?}",
        sim.now - begun
    );
    assert!(sim.now - begun >= ELSEWHERE_GRACE);
    assert_eq!(
        answer_to(&actions, req),
        Some(Answer::Failed {
            reason: "v1 did not start: web processes must listen on $PORT (was 3000)".into(),
            detail: vec!["web.1 listens on port 3000; its $PORT is 5001".into()],
        })
    );
    assert_eq!(signals(&actions), [(sim.run(1, "web.1"), Signal::Term)]);

    // Seen elsewhere, then on its own port in time: healthy.
    let (req, actions) = sim.launch(release(2, "web: serve\n"), Formation::default(), &[5002]);
    sim.answer(&actions, Check::Elsewhere(3000));
    let actions = sim.wait(2 * SEC);
    let actions = sim.answer(&actions, Check::Healthy);
    assert!(matches!(
        answer_to(&actions, req),
        Some(Answer::Launched(_))
    ));
}

#[test]
fn a_release_without_web_processes_is_healthy_once_it_settled() {
    let mut sim = Sim::new();
    let (req, actions) = sim.launch(release(1, "worker: work\n"), Formation::default(), &[5001]);
    assert!(checks(&actions).is_empty());
    assert_eq!(spawns(&actions)[0].2, None, "only web processes get a port");
    assert_eq!(answer_to(&sim.wait(999 * MS), req), None);
    let actions = sim.wait(MS);
    assert!(matches!(
        answer_to(&actions, req),
        Some(Answer::Launched(_))
    ));
    assert_eq!(
        logs(&actions),
        ["worker.1: State changed from starting to up"]
    );
}

#[test]
fn a_restart_never_switches_over_a_newer_deploy() {
    let mut sim = Sim::new();
    let v1 = sim.deploy(release(1, "web: serve\n"), Formation::default(), &[5001]);
    // `restart`: v1 again, checked like a deploy.
    let (restart, restarting) =
        sim.launch(release(1, "web: serve\n"), Formation::default(), &[5002]);
    // Meanwhile a deploy of v2 starts, becomes healthy, and is switched to.
    let v2 = sim.deploy(release(2, "web: serve\n"), Formation::default(), &[5003]);
    assert_eq!(sim.state.live_version(), Some(2));
    // Only now is the restarted v1 healthy.
    let actions = sim.answer(&restarting, Check::Healthy);
    let Some(Answer::Launched(again)) = answer_to(&actions, restart) else {
        panic!("{actions:#?}")
    };
    assert!(again != v1 && again != v2);
    let req = sim.req();
    let actions = sim.step(Event::Decide {
        req,
        generation: again,
        current: Some(2),
    });
    assert_eq!(
        answer_to(&actions, req),
        Some(Answer::Failed {
            reason: "v1 stopped being current while it restarted".into(),
            detail: vec![],
        })
    );
    assert!(pools(&actions).is_empty(), "traffic stays on v2");
    assert_eq!(
        logs(&actions)[0],
        "supervisor: v1 was not made current; stopping it"
    );
    assert_eq!(sim.state.live_version(), Some(2));
    assert_eq!(
        sim.ps(),
        [
            "web.1 stopping v1 :5001",
            "web.1 stopping v1 :5002",
            "web.1 up v2 :5003"
        ]
    );

    // With `current` still naming its release, a restart switches like a deploy.
    let (restart, actions) = sim.launch(release(2, "web: serve\n"), Formation::default(), &[5004]);
    let actions = sim.answer(&actions, Check::Healthy);
    let Some(Answer::Launched(again)) = answer_to(&actions, restart) else {
        panic!("{actions:#?}")
    };
    let req = sim.req();
    let actions = sim.step(Event::Decide {
        req,
        generation: again,
        current: Some(2),
    });
    assert_eq!(answer_to(&actions, req), Some(Answer::Done));
    assert!(sim.state.draining().contains(&v2));
}

#[test]
fn a_process_that_cannot_be_spawned_fails_its_launch_with_the_reason() {
    let mut sim = Sim::new();
    let req = sim.req();
    let mut actions = step(
        &mut sim.state,
        Event::Launch {
            req,
            release: release(1, "web: serve\n"),
            formation: Formation::default(),
            ports: vec![5001],
        },
        sim.now,
    );
    let (run, ..) = spawns(&actions)[0];
    actions = sim.step(Event::SpawnFailed {
        run,
        reason: "No such file or directory (os error 2)".into(),
        retry: false,
    });
    assert_eq!(
        answer_to(&actions, req),
        Some(Answer::Failed {
            reason: "v1 did not start: web.1 exited (could not start (No such file or directory (os error 2)))".into(),
            detail: vec![]
        })
    );
    assert!(sim.state.gens.is_empty());
}
