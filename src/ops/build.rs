//! How a deploy makes its slug: which buildpacks and build step run, or the tree compiled straight from git.
//!
//! Buildpacks are, in order of precedence: those chosen with `buildpacks:set`
//! (kept in `apps/NAME/buildpacks.json`), the `BUILDPACK_URL` config var, the
//! repository's `.buildpacks` file; with none of these, the built-ins detect
//! the app. A tree no built-in could detect and without a build step is
//! compiled from the object database as it is, and a re-push of a known tree
//! reuses its slug.

use std::path::{Path, PathBuf};

use git2::{Commit, Repository, Tree};

use super::change::Change;
use super::error::{Error, Result};
use super::hooks;
use crate::build::buildpack::{Choice, MARKERS};
use crate::build::compile;
use crate::build::pipeline::{self, Build, Built, Input};
use crate::build::source::Limits;
use crate::build::step::{self, Step};
use crate::model::buildpack::{self as model_buildpack, Buildpack};
use crate::model::config::Config;
use crate::model::event::{Event, Observer};
use crate::model::procfile::Procfile;
use crate::model::refs::HookKind;
use crate::model::settings::Phase;
use crate::store::app::App;
use crate::store::{buildpacks, notes};

/// The config a build sees before any release set one.
static EMPTY_CONFIG: Config = Config::new();

/// The app's build step: `build:` in app.yaml, else the admin's `ROOT/hooks/build`; `None` without either.
pub fn build_step(change: &Change) -> Option<Step> {
    let settings = &change.app.settings;
    Step::new(
        settings.build.as_ref(),
        step::hook_path(change.ctx.root.dir()),
        settings.build_timeout,
    )
}

/// The buildpacks chosen for the app itself, or by its `BUILDPACK_URL` config var; `None` when neither chose any.
fn chosen_buildpacks(change: &Change) -> Result<Option<Choice>> {
    let set = buildpacks::load(change.app)?;
    if !set.is_empty() {
        return Ok(Some(Choice::Chosen {
            buildpacks: set,
            from: "buildpacks:set",
        }));
    }
    let url = change
        .base
        .as_ref()
        .and_then(|base| base.config.get("BUILDPACK_URL"));
    if let Some(url) = url {
        return Ok(Some(Choice::Chosen {
            buildpacks: vec![url.parse::<Buildpack>()?],
            from: "BUILDPACK_URL",
        }));
    }
    Ok(None)
}

/// Which buildpacks build `tree`: chosen ones, its `.buildpacks` file, detection when it has a file a built-in looks for, or none.
fn buildpacks_for_tree(change: &Change, repo: &Repository, tree: &Tree) -> Result<Option<Choice>> {
    buildpacks_for(
        change,
        |name| top_level_text(repo, tree, name),
        |name| tree.get_name(name).is_some(),
    )
}

/// Which buildpacks build the directory `dir` (a source archive): chosen ones, its `.buildpacks`, or detection.
fn buildpacks_for_dir(change: &Change, dir: &Path) -> Result<Option<Choice>> {
    buildpacks_for(
        change,
        |name| std::fs::read_to_string(dir.join(name)).ok(),
        |name| dir.join(name).is_file(),
    )
}

/// The choice for a source whose top-level files `read` gives as text and `has` tells of.
fn buildpacks_for(
    change: &Change,
    read: impl Fn(&str) -> Option<String>,
    has: impl Fn(&str) -> bool,
) -> Result<Option<Choice>> {
    if let Some(choice) = chosen_buildpacks(change)? {
        return Ok(Some(choice));
    }
    if let Some(text) = read(".buildpacks") {
        let list = model_buildpack::parse_list(&text)?;
        if !list.is_empty() {
            return Ok(Some(Choice::Chosen {
                buildpacks: list,
                from: ".buildpacks",
            }));
        }
    }
    Ok(MARKERS
        .iter()
        .any(|name| has(name))
        .then_some(Choice::Detect))
}

/// A small regular file at the top of `tree`, as text.
fn top_level_text(repo: &Repository, tree: &Tree, name: &str) -> Option<String> {
    let entry = tree.get_name(name)?;
    if entry.filemode() != 0o100644 && entry.filemode() != 0o100755 {
        return None;
    }
    let blob = repo.find_blob(entry.id()).ok()?;
    if blob.size() > 64 * 1024 {
        return None;
    }
    String::from_utf8(blob.content().to_vec()).ok()
}

/// The slug a deploy of `commit` runs, and the config defaults its buildpacks asked for.
///
/// With `build_on: pre-receive` the slug the pre-receive hook built is taken
/// instead of building again.
pub fn slug_of_commit(
    change: &Change,
    repo: &Repository,
    commit: &Commit,
    incoming: &[PathBuf],
    observer: &mut dyn Observer,
) -> Result<Built> {
    let app = change.app;
    let tree = commit
        .tree()
        .map_err(Error::git("read the commit's tree"))?;
    let choice = buildpacks_for_tree(change, repo, &tree)?;
    let step = build_step(change);
    if choice.is_none() && step.is_none() {
        return compile_tree(change, repo, commit, incoming, observer);
    }
    if app.settings.build_on == Phase::PreReceive {
        if let Some(built) = notes::take(app, &change.ctx.slugs(), &commit.id().to_string()) {
            observer.event(Event::Compressed {
                size: built.0.size,
                reused: true,
            });
            return Ok(Built {
                slug: built.0,
                config_defaults: built.1,
            });
        }
        if !has_pre_receive_hook(app) {
            observer.event(Event::NotStrict {
                repo: app.repo_dir().display().to_string(),
                setting: "build_on",
            });
        }
    }
    build_commit(change, choice, step, repo, commit, incoming, observer)
}

/// Builds `commit` (objects also in `incoming`) with `choice` and `step`; the tree as it is when nothing built it.
pub fn build_commit(
    change: &Change,
    choice: Option<Choice>,
    step: Option<Step>,
    repo: &Repository,
    commit: &Commit,
    incoming: &[PathBuf],
    observer: &mut dyn Observer,
) -> Result<Built> {
    let input = Input::Commit {
        repo,
        commit,
        incoming,
    };
    match run_pipeline(change, choice, step, input, observer)? {
        Some(built) => Ok(built),
        None => compile_tree(change, repo, commit, incoming, observer),
    }
}

/// What pre-receive builds (strict pushes): the choice and step, or `None` when the tree compiles as it is.
pub fn plan_for_commit(
    change: &Change,
    repo: &Repository,
    commit: &Commit,
) -> Result<Option<(Option<Choice>, Option<Step>)>> {
    let tree = commit
        .tree()
        .map_err(Error::git("read the commit's tree"))?;
    let choice = buildpacks_for_tree(change, repo, &tree)?;
    let step = build_step(change);
    Ok((choice.is_some() || step.is_some()).then_some((choice, step)))
}

/// Builds the directory `dir` (an unpacked source) the way a push of it would be.
pub fn build_dir(change: &Change, dir: &Path, observer: &mut dyn Observer) -> Result<Built> {
    let choice = buildpacks_for_dir(change, dir)?;
    let step = build_step(change);
    if (choice.is_some() || step.is_some())
        && let Some(built) = run_pipeline(change, choice, step, Input::Dir(dir), observer)?
    {
        return Ok(built);
    }
    let procfile = std::fs::read(dir.join("Procfile")).ok();
    if let Some(types) = process_types(procfile.as_deref()) {
        observer.event(types);
    }
    let plan = crate::build::dir::DirPlan::scan_source(dir)?;
    let max = change.app.max_slug_size(change.ctx.root);
    let slug = crate::build::dir::compile_dir(&change.ctx.slugs(), &plan, max, observer)?;
    Ok(Built {
        slug,
        config_defaults: Config::new(),
    })
}

fn run_pipeline(
    change: &Change,
    choice: Option<Choice>,
    step: Option<Step>,
    input: Input,
    observer: &mut dyn Observer,
) -> Result<Option<Built>> {
    let ctx = change.ctx;
    let sandbox = change.sandbox(observer)?;
    let scratch = ctx.root.scratch_dir()?;
    let cache = change.app.dir().join("cache");
    let slugs = ctx.slugs();
    let build = Build {
        app: &change.app.name,
        config: change
            .base
            .as_ref()
            .map_or(&EMPTY_CONFIG, |base| &base.config),
        scratch: &scratch,
        cache: &cache,
        buildpack_cache: &ctx.root.dir().join("buildpacks"),
        git_env: &ctx.git_env,
        limits: Limits::from_settings(&ctx.root.settings),
        http: &ctx.http,
        buildpacks: choice,
        step,
        timeout: change.app.settings.build_timeout,
        slugs: &slugs,
        max_size: change.app.max_slug_size(ctx.root),
        sandbox,
    };
    Ok(pipeline::build(&build, input, observer)?)
}

/// Compiles `commit`'s tree straight from the object database (or reuses the slug of the same tree).
fn compile_tree(
    change: &Change,
    repo: &Repository,
    commit: &Commit,
    incoming: &[PathBuf],
    observer: &mut dyn Observer,
) -> Result<Built> {
    let tree = commit
        .tree()
        .map_err(Error::git("read the commit's tree"))?;
    let procfile = top_level_text(repo, &tree, "Procfile");
    // A Procfile that does not parse fails the deploy with its own line; no "no Procfile" before it.
    if let Some(types) = process_types(procfile.as_deref().map(str::as_bytes)) {
        observer.event(types);
    }
    let max = change.app.max_slug_size(change.ctx.root);
    let slug =
        compile::get_or_compile_from(&change.ctx.slugs(), repo, commit, incoming, max, observer)?;
    Ok(Built {
        slug,
        config_defaults: Config::new(),
    })
}

/// The process types a Procfile declares, as the "Discovering process types" step shows them; `None` when it does not parse.
fn process_types(procfile: Option<&[u8]>) -> Option<Event> {
    let declared = match procfile {
        Some(text) => Procfile::parse(text)
            .ok()?
            .processes()
            .map(|(k, _)| k.to_owned())
            .collect(),
        None => Vec::new(),
    };
    Some(Event::ProcessTypes {
        declared,
        defaults: Vec::new(),
    })
}

fn has_pre_receive_hook(app: &App) -> bool {
    hooks::installed_hooks(app)
        .is_ok_and(|hooks| hooks.iter().any(|h| h.hook == HookKind::PreReceive))
}
