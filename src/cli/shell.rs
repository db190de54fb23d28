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

/// One page, `slipway(1)`, with a COMMANDS section holding every command's
/// synopsis and options (clap_mangen's own page only points to a
/// `slipway-COMMAND(1)` page per command, which nothing installs).
pub fn manpage() -> anyhow::Result<()> {
    let mut command = Cli::command().disable_help_subcommand(true);
    command.build();
    let man = clap_mangen::Man::new(command.clone());
    let mut page = Vec::new();
    man.render_title(&mut page)?;
    man.render_name_section(&mut page)?;
    man.render_synopsis_section(&mut page)?;
    man.render_description_section(&mut page)?;
    man.render_options_section(&mut page)?;
    let mut commands = Vec::new();
    for sub in command.get_subcommands().filter(|s| !s.is_hide_set()) {
        let man = clap_mangen::Man::new(sub.clone());
        let mut synopsis = Vec::new();
        man.render_synopsis_section(&mut synopsis)?;
        let mut options = Vec::new();
        man.render_options_section(&mut options)?;
        commands.push(output::shell::ManCommand {
            name: sub.get_name().to_owned(),
            about: sub.get_about().map(|a| a.to_string()).unwrap_or_default(),
            synopsis: String::from_utf8_lossy(&synopsis).into_owned(),
            options: String::from_utf8_lossy(&options).into_owned(),
        });
    }
    let mut text = String::from_utf8_lossy(&page).into_owned();
    text.push_str(&output::shell::man_commands(&commands));
    output::print(&text)
}
