//! `completions bash|zsh|fish` and `manpage`: what shells and `man` need, generated from the command line itself.

use clap::{Args, CommandFactory, ValueEnum};

use super::Cli;
use crate::output;

/// A shell slipway writes completions for.
#[derive(Clone, Copy, ValueEnum)]
pub enum Shell {
    Bash,
    Zsh,
    Fish,
}

#[derive(Args)]
pub struct CompletionsArgs {
    /// The shell
    #[arg(value_enum)]
    shell: Shell,
}

pub fn completions(args: CompletionsArgs) -> anyhow::Result<()> {
    let mut command = Cli::command();
    let mut script = Vec::new();
    let shell = match args.shell {
        Shell::Bash => clap_complete::Shell::Bash,
        Shell::Zsh => clap_complete::Shell::Zsh,
        Shell::Fish => clap_complete::Shell::Fish,
    };
    clap_complete::generate(shell, &mut command, "slipway", &mut script);
    let mut text = String::from_utf8_lossy(&script).into_owned();
    if let Shell::Bash = args.shell {
        text = output::shell::bash_colon_safe(&text);
    }
    output::print(&text)
}

pub fn manpage() -> anyhow::Result<()> {
    let mut page = Vec::new();
    clap_mangen::Man::new(Cli::command()).render(&mut page)?;
    output::print(&String::from_utf8_lossy(&page))
}
