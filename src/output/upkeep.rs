//! What the upkeep commands print: `fsck`, `slugs:migrate`.

use super::escape;
use crate::base::size::Size;
use crate::model::name::AppName;
use crate::model::slug_store::SlugStoreSpec;
use crate::ops::change::Outcome;
use crate::ops::fsck::{Repaired, Report};
use crate::ops::migrate::Migrated;

/// `fsck`: one ok line per healthy app, one line per problem otherwise.
pub fn fsck(reports: &[(AppName, Report)]) -> String {
    let mut text = String::new();
    for (name, report) in reports {
        if report.problems.is_empty() {
            text.push_str(&format!(
                "{name}: ok ({}, {} checked)\n",
                super::counted(report.releases, "release", "releases"),
                super::counted(report.slugs, "slug", "slugs")
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

/// `slugs:migrate` to the store already in use.
pub fn already_there(spec: &SlugStoreSpec) -> String {
    format!(
        "slug_store is already {}: nothing to move\n",
        escape(&spec.to_string())
    )
}

/// `slugs:migrate`'s result line.
pub fn migrated(migrated: &Migrated) -> String {
    format!(
        "Copied {} ({}) from {} to {}, {} already there; slug_store is now {}\n",
        super::counted(migrated.copied, "slug", "slugs"),
        Size(migrated.bytes),
        escape(&migrated.from),
        escape(&migrated.to),
        migrated.present,
        escape(&migrated.to)
    )
}
