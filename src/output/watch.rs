//! What `watch:set`, `watch:unset` and each `watch` round print.

use super::escape;
use crate::model::name::AppName;
use crate::ops::watch::{Report, WatchSettings, Watched};

/// `watch:set`'s line.
pub fn watching(app: &AppName, settings: &WatchSettings) -> String {
    format!(
        "Watching {} of {} for {app}: `slipway watch` deploys each new commit\n",
        escape(&settings.branch),
        settings.shown_url(),
    )
}

/// `watch:unset`'s line.
pub fn stopped(app: &AppName, settings: &WatchSettings) -> String {
    format!(
        "Stopped watching {} of {} for {app}\n",
        escape(&settings.branch),
        settings.shown_url(),
    )
}

/// `watch:set --json` / `watch:unset --json`: the app and what it watches (or watched), the URL without credentials.
pub fn settings_json(app: &AppName, settings: &WatchSettings) -> String {
    #[derive(serde::Serialize)]
    struct Watching<'a> {
        app: &'a str,
        repo: String,
        branch: &'a str,
    }
    super::json(&Watching {
        app: app.as_str(),
        repo: settings.shown_url(),
        branch: &settings.branch,
    })
}

/// One app's round, as (stdout, stderr) text; rounds that changed nothing are only told with `--once`.
pub fn report(report: &Report, once: bool) -> (String, String) {
    match report {
        Report::Checked {
            app,
            settings,
            watched,
        } => {
            let (branch, url) = (escape(&settings.branch), settings.shown_url());
            let text = match watched {
                Watched::Unchanged { short } if once => {
                    format!("{app}: {branch} of {url} is still at {short}, nothing to deploy\n")
                }
                Watched::AlreadyLive { short, version } if once => {
                    format!("{app}: {branch} of {url} is at {short}, already live as v{version}\n")
                }
                _ => String::new(),
            };
            (text, String::new())
        }
        // One line per failure: the next round tries again.
        Report::Failed {
            app: Some(app),
            error,
        } => (String::new(), format!("error: watch {app}: {error}\n")),
        Report::Failed { app: None, error } => (String::new(), format!("error: watch: {error}\n")),
    }
}
