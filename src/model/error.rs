//! What parsing and validating outside input can fail with: each variant names the value and why.

/// A value that does not parse or is not allowed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("invalid app name '{name}': {reason}")]
    BadAppName { name: String, reason: &'static str },

    #[error("invalid user name '{name}': {reason}")]
    BadUserName { name: String, reason: &'static str },

    #[error("'{text}' is not a release version (expected something like v12)")]
    BadVersion { text: String },

    #[error("invalid config var name '{key}'")]
    BadConfigKey { key: String },

    #[error("'{arg}' is not KEY=VALUE")]
    BadConfigAssignment { arg: String },

    #[error("invalid add-on '{spec}': {reason}")]
    BadAddon { spec: String, reason: &'static str },

    #[error("Procfile line {line}: {reason}")]
    BadProcfile { line: usize, reason: String },

    #[error("invalid process type '{kind}': {reason}")]
    BadProcessType { kind: String, reason: &'static str },

    #[error("invalid process '{name}': {reason}")]
    BadProcess { name: String, reason: &'static str },

    #[error("invalid scale '{arg}': {reason}")]
    BadScale { arg: String, reason: &'static str },

    #[error("malformed hook input on line {line}: '{text}' ({reason})")]
    HookInput {
        line: usize,
        text: String,
        reason: &'static str,
    },

    #[error("hook input is longer than {max}")]
    HookInputTooLong { max: crate::base::size::Size },

    #[error("'{text}' is not a buildpack: {reason}")]
    BadBuildpack { text: String, reason: &'static str },

    #[error("the buildpack's bin/release printed invalid YAML: {reason}")]
    BadReleaseYaml { reason: String },

    #[error("not a usable ssh public key: {reason}")]
    BadPublicKey { reason: String },

    #[error("slug_store '{text}' is neither `local` nor s3://BUCKET/PREFIX")]
    NotASlugStore { text: String },

    #[error("slug_store '{text}': {reason}")]
    BadSlugStore { text: String, reason: &'static str },

    #[error("s3_endpoint '{url}': {reason}")]
    BadEndpoint { url: String, reason: &'static str },

    #[error("'{text}' is not a port range (try 5000-5999)")]
    BadPortRange { text: String },
}

/// `Result` with the model's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
