//! What the upkeep commands print: `fsck`.

use super::escape;
use crate::model::name::AppName;
use crate::ops::fsck::Report;

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
