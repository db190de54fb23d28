//! `maintenance:on` / `maintenance:off`: the stable port answers 503 with a page while the processes keep running.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use crate::common::*;
use crate::launch::{body, local_app, ps_json, write_web};

/// The whole HTTP/1.1 response to `GET /` on `127.0.0.1:port`.
fn raw_get(port: u16) -> String {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    s.write_all(b"GET /cart HTTP/1.1\r\nHost: shop\r\n\r\n")
        .unwrap();
    let mut text = String::new();
    s.read_to_string(&mut text).unwrap();
    text
}

fn info_json(f: &Fixture, app: &str) -> serde_json::Value {
    serde_json::from_str(&ok(f.slipway(&["apps:info", "-a", app, "--json"]))).unwrap()
}

#[test]
fn maintenance_mode_answers_503_without_stopping_processes_and_outlives_the_supervisor() {
    let f = Fixture::new();
    let (_guard, work, port) = local_app(&f, "shop", "");
    write_web(&work, "open");
    work.commit("web");
    work.push_ok(&["main"]);
    assert_eq!(ok(f.slipway(&["maintenance", "-a", "shop"])), "off\n");
    let pid = ps_json(&f, "shop")[0]["pid"].as_u64().unwrap();

    assert_eq!(
        ok(f.slipway(&["maintenance:on", "-a", "shop"])),
        "Enabling maintenance mode for shop... done\n"
    );
    let response = raw_get(port);
    let (head, page) = response.split_once("\r\n\r\n").unwrap();
    assert!(
        head.starts_with("HTTP/1.1 503 Service Unavailable\r\n"),
        "{head}"
    );
    assert!(head.contains("\r\nRetry-After: 60\r\n"), "{head}");
    assert!(
        head.contains("\r\nContent-Type: text/html; charset=utf-8\r\n"),
        "{head}"
    );
    assert!(page.contains("<h1>Offline for maintenance</h1>"), "{page}");
    // The process was not touched.
    let ps = ps_json(&f, "shop");
    assert_eq!(
        (ps[0]["pid"].as_u64(), ps[0]["state"].as_str()),
        (Some(pid), Some("up"))
    );
    assert_eq!(ok(f.slipway(&["maintenance", "-a", "shop"])), "on\n");
    let shown: serde_json::Value =
        serde_json::from_str(&ok(f.slipway(&["maintenance", "-a", "shop", "--json"]))).unwrap();
    assert_eq!(
        shown,
        serde_json::json!({"app": "shop", "maintenance": true})
    );
    let info = ok(f.slipway(&["apps:info", "-a", "shop"]));
    assert!(info.contains("Maintenance:     on\n"), "{info}");
    assert_eq!(info_json(&f, "shop")["maintenance"], true);

    // A deploy goes on behind the page; a new supervisor keeps the mode (it is a file).
    work.write("body.txt", "reopened\n");
    work.commit("two");
    work.push_ok(&["main"]);
    assert!(raw_get(port).starts_with("HTTP/1.1 503 "));
    assert!(
        ok(f.slipway(&["ps:stop", "-a", "shop"])).starts_with("Stopping shop's processes... done")
    );
    assert!(f.app_dir("shop").join("maintenance").exists());
    ok(f.slipway(&["ps:restart", "-a", "shop"]));
    assert!(raw_get(port).starts_with("HTTP/1.1 503 "));

    assert_eq!(
        ok(f.slipway(&["maintenance:off", "-a", "shop"])),
        "Disabling maintenance mode for shop... done\n"
    );
    assert!(body(port).starts_with("reopened"), "{}", body(port));
    assert_eq!(ok(f.slipway(&["maintenance", "-a", "shop"])), "off\n");
    assert_eq!(info_json(&f, "shop")["maintenance"], false);
    // Turning it off again is no error.
    ok(f.slipway(&["maintenance:off", "-a", "shop"]));
}

#[test]
fn with_no_web_process_up_the_stable_port_answers_503_instead_of_closing() {
    let f = Fixture::new();
    let (_guard, work, port) = local_app(&f, "shop", "");
    write_web(&work, "open");
    work.commit("web");
    work.push_ok(&["main"]);
    assert!(body(port).starts_with("open"), "{}", body(port));

    ok(f.slipway(&["ps:scale", "web=0", "-a", "shop"]));
    let response = raw_get(port);
    let (head, page) = response.split_once("\r\n\r\n").unwrap();
    assert!(
        head.starts_with("HTTP/1.1 503 Service Unavailable\r\n"),
        "{head}"
    );
    assert!(!head.contains("Retry-After"), "{head}");
    assert!(page.contains("<h1>Application unavailable</h1>"), "{page}");

    ok(f.slipway(&["ps:scale", "web=1", "-a", "shop"]));
    crate::launch::wait_for(20, "the web process back", || {
        crate::launch::http_get(port, "/").is_some_and(|(status, _)| status == 200)
    });
}
