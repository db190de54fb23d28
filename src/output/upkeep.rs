//! What the upkeep commands print: `fsck`.

use super::escape;
use crate::model::name::AppName;
use crate::ops::change::Outcome;
use crate::ops::fsck::{Repaired, Report};

/// `fsck`: one ok line per healthy app, one line per problem otherwise.
pub fn fsck(reports: &[(AppName, Report)]) -> String {
    let mut text = String::new();
    for (name, report) in reports {
        if report.problems.is_empty() {
            text.push_str(&format!(
                "{name}: ok ({} releases, {} slugs checked)\n",
                report.releases, report.slugs
            ));
        }
        for problem in &report.problems {
            text.push_str(&format!("{name}: {}\n", escape(problem)));
        }
    }
    text
}

/// `fsck --json`: one object per app, with its problems.
pub fn fsck_json(reports: &[(AppName, Report)]) -> String {
    #[derive(serde::Serialize)]
    struct AppReport<'a> {
        app: &'a str,
        ok: bool,
        #[serde(flatten)]
        report: &'a Report,
    }
    let items: Vec<AppReport> = reports
        .iter()
        .map(|(app, report)| AppReport {
            app: app.as_str(),
            ok: report.problems.is_empty(),
            report,
        })
        .collect();
    super::json(&items)
}

/// `fsck --repair`'s line; `None` when the new release failed to start (already reported).
pub fn repaired(app: &AppName, repaired: &Repaired) -> Option<String> {
    match repaired {
        Repaired::NothingToRepair => Some(format!(
            "{app}: current names an intact, succeeded release; nothing to repair\n"
        )),
        Repaired::Restored { from, outcome } => match &**outcome {
            Outcome::Live(r) => Some(format!(
                "Repaired {app}: v{} copies v{from} and is live; the damaged records were left as they are\n",
                r.version
            )),
            _ => None,
        },
    }
}
