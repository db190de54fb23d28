//! `releases:create`: a release from a source directory or archive (file or http(s) URL), as Akkeris makes them.

use std::io::IsTerminal;

use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};

use super::Reported;
use super::env::{AppArg, Env};
use crate::deploy::Outcome;
use crate::event::{Event, Observer};
use crate::output::Sideband;
use crate::source::{self, Spec};

#[derive(Args)]
pub struct CreateArgs {
    /// A directory, a .tar.gz/.tgz/.tar/.zip file, or an http(s) URL of one
    source: String,
    #[command(flatten)]
    app: AppArg,
    /// The release's description [default: Deploy from NAME]
    #[arg(short = 'd', long = "description", value_name = "TEXT")]
    description: Option<String>,
}

pub fn create(env: &Env, args: CreateArgs) -> anyhow::Result<()> {
    let root = env.root()?;
    let app = env.resolve_app(&root, &args.app)?;
    let spec = Spec::parse(&args.source)?;
    let mut progress = Terminal::new();
    let outcome = source::create_release(
        &env.context(&root),
        &app,
        &spec,
        args.description,
        &mut progress,
    )?;
    match outcome {
        Outcome::Failed(_) => Err(Reported.into()),
        _ => Ok(()),
    }
}

/// `----->` lines on stderr, with an indicatif bar for downloads when stderr is a terminal.
struct Terminal {
    lines: Sideband<std::io::Stderr>,
    bar: Option<ProgressBar>,
    tty: bool,
}

impl Terminal {
    fn new() -> Terminal {
        Terminal {
            lines: Sideband::new(std::io::stderr()),
            bar: None,
            tty: std::io::stderr().is_terminal(),
        }
    }
}

impl Observer for Terminal {
    fn event(&mut self, event: Event) {
        if let Event::Downloading { done, total } = event {
            if !self.tty {
                return;
            }
            let bar = self.bar.get_or_insert_with(|| {
                let bar = match total {
                    Some(total) => ProgressBar::new(total).with_style(
                        ProgressStyle::with_template(
                            "-----> Downloading {bar:30} {bytes}/{total_bytes} {bytes_per_sec}",
                        )
                        .unwrap_or_else(|_| ProgressStyle::default_bar()),
                    ),
                    None => ProgressBar::new_spinner().with_style(
                        ProgressStyle::with_template(
                            "-----> Downloading {spinner} {bytes} {bytes_per_sec}",
                        )
                        .unwrap_or_else(|_| ProgressStyle::default_spinner()),
                    ),
                };
                bar.set_draw_target(indicatif::ProgressDrawTarget::stderr());
                bar
            });
            bar.set_position(done);
            return;
        }
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
        self.lines.event(event);
    }
}
