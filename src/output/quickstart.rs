//! The quickstart's narration: what each step is about to show.

use std::path::Path;

use super::escape;
use crate::model::release::Version;

/// Where the demo lives.
pub fn intro(root: &str, app: &str, repo: &Path) -> String {
    format!(
        "==> slipway root: {root}\n==> app '{app}', git repository {}\n",
        repo.display()
    )
}

/// Before the first push.
pub fn first_push() -> &'static str {
    "\n==> Committing the sample app and pushing: git push slipway main\n"
}

/// Before the second push.
pub fn second_push() -> &'static str {
    "\n==> Changing the page and pushing again\n"
}

/// Before the config change.
pub fn config_step(app: &str) -> String {
    format!(
        "\n==> Every config change is a release: slipway config:set GREETING_STYLE=friendly -a {app}\n"
    )
}

/// Before the rollback.
pub fn rollback_step(app: &str) -> String {
    format!("\n==> A bad release is one rollback away, git untouched: slipway rollback -a {app}\n")
}

/// Before the releases table.
pub fn releases_step(root: &str, app: &str) -> String {
    format!("\n==> slipway --root {root} releases -a {app}\n")
}

/// The app answering at `url` with the page's heading, or how to find out why it does not.
pub fn served(served: Option<(&str, &str)>, exe: &Path, root: &str, app: &str) -> String {
    match served {
        Some((url, heading)) => format!(
            "\n==> The app is live at {url}\n    GET {url} says: {}\n",
            escape(heading)
        ),
        None => format!(
            "\n==> The app could not start; `{} --root {root} logs -a {app}` shows why\n",
            exe.display()
        ),
    }
}

/// What to try next.
pub fn next_steps(checkout: &Path, exe: &Path, root: &str, app: &str, first: Version) -> String {
    let exe = exe.display();
    format!(
        "\nNext, try:\n  \
           cd {checkout} && $EDITOR index.html && git commit -am 'My change' && git push slipway main\n  \
           {exe} --root {root} releases -a {app}\n  \
           {exe} --root {root} releases:info -a {app}\n  \
           {exe} --root {root} rollback v{first} -a {app}\n  \
           {exe} --root {root} ps -a {app}\n  \
           {exe} --root {root} logs -a {app}\n  \
           {exe} --root {root} ps:stop -a {app}     # the app keeps running until you stop it\n",
        checkout = checkout.display(),
    )
}
