//! S3 credentials: from variables the command-line edge looked up, or a profile of `~/.aws/credentials`.
//!
//! Nothing here reads the environment: [`Credentials::from_env`] is handed a
//! lookup function (the edge passes `|name| std::env::var(name).ok()`) and the
//! home directory.

use std::collections::BTreeMap;
use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

/// An access key pair, and the session token that temporary keys come with.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    access_key_id: String,
    secret_access_key: String,
    session_token: Option<String>,
}

/// Why no credentials could be had.
#[derive(Debug, thiserror::Error)]
pub enum CredentialsError {
    /// One half of the key pair is in the environment, the other is not.
    #[error("{set} is set but {missing} is not")]
    HalfSet {
        /// The variable that is set.
        set: &'static str,
        /// The one that is missing.
        missing: &'static str,
    },
    /// Neither the variables nor a credentials file.
    #[error(
        "no S3 credentials: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not set, and {}",
        match .looked_in { Some(path) => format!("there is no {}", path.display()), None => "there is no home directory to find .aws/credentials in".to_owned() }
    )]
    NotFound {
        /// The credentials file that was looked for, when there was a place to look.
        looked_in: Option<PathBuf>,
    },
    /// The credentials file exists but cannot be read.
    #[error("cannot read {}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// What the system said.
        source: io::Error,
    },
    /// The credentials file is not INI as the AWS tools write it.
    #[error("{} line {line}: {problem}", path.display())]
    Syntax {
        /// The file.
        path: PathBuf,
        /// The line number, from 1.
        line: usize,
        /// What is wrong with it.
        problem: String,
    },
    /// The profile asked for is not in the file.
    #[error("{} has no profile [{profile}]", path.display())]
    NoProfile {
        /// The file.
        path: PathBuf,
        /// The profile (`AWS_PROFILE`, or `default`).
        profile: String,
    },
    /// The profile lacks a key.
    #[error("profile [{profile}] in {} has no {missing}", path.display())]
    Incomplete {
        /// The file.
        path: PathBuf,
        /// The profile.
        profile: String,
        /// The setting that is missing.
        missing: &'static str,
    },
}

/// A syntax error in INI text: the line (from 1) and what is wrong.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IniError {
    /// The line number, from 1.
    pub line: usize,
    /// What is wrong with it.
    pub problem: String,
}

/// The sections of an INI file, each a map of lowercased keys to values.
pub type IniSections = BTreeMap<String, BTreeMap<String, String>>;

impl Credentials {
    /// Credentials given outright.
    pub fn new(
        access_key_id: impl Into<String>,
        secret_access_key: impl Into<String>,
        session_token: Option<String>,
    ) -> Credentials {
        Credentials {
            access_key_id: access_key_id.into(),
            secret_access_key: secret_access_key.into(),
            session_token: session_token.filter(|t| !t.is_empty()),
        }
    }

    /// Credentials the way the AWS tools find them: `AWS_ACCESS_KEY_ID`,
    /// `AWS_SECRET_ACCESS_KEY` and `AWS_SESSION_TOKEN` when the first two are set;
    /// otherwise the profile `AWS_PROFILE` (default `default`) of the file
    /// `AWS_SHARED_CREDENTIALS_FILE` (default `HOME/.aws/credentials`).
    ///
    /// `lookup` answers for an environment variable (empty counts as unset);
    /// `home` is the user's home directory, if there is one.
    pub fn from_env(
        lookup: impl Fn(&str) -> Option<String>,
        home: Option<&Path>,
    ) -> Result<Credentials, CredentialsError> {
        let var = |name: &str| lookup(name).filter(|v| !v.is_empty());
        match (var("AWS_ACCESS_KEY_ID"), var("AWS_SECRET_ACCESS_KEY")) {
            (Some(id), Some(secret)) => {
                return Ok(Credentials::new(id, secret, var("AWS_SESSION_TOKEN")));
            }
            (Some(_), None) => {
                return Err(CredentialsError::HalfSet {
                    set: "AWS_ACCESS_KEY_ID",
                    missing: "AWS_SECRET_ACCESS_KEY",
                });
            }
            (None, Some(_)) => {
                return Err(CredentialsError::HalfSet {
                    set: "AWS_SECRET_ACCESS_KEY",
                    missing: "AWS_ACCESS_KEY_ID",
                });
            }
            (None, None) => {}
        }
        let path = match var("AWS_SHARED_CREDENTIALS_FILE") {
            Some(file) => PathBuf::from(file),
            None => match home {
                Some(home) => home.join(".aws").join("credentials"),
                None => return Err(CredentialsError::NotFound { looked_in: None }),
            },
        };
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Err(CredentialsError::NotFound {
                    looked_in: Some(path),
                });
            }
            Err(source) => return Err(CredentialsError::Read { path, source }),
        };
        let profile = var("AWS_PROFILE").unwrap_or_else(|| "default".to_owned());
        Credentials::from_credentials_file(&text, &profile, &path)
    }

    /// The credentials of `profile` in the text of a credentials file found at `path`
    /// (the path only names the file in errors).
    pub fn from_credentials_file(
        text: &str,
        profile: &str,
        path: &Path,
    ) -> Result<Credentials, CredentialsError> {
        let sections = parse_ini(text).map_err(|e| CredentialsError::Syntax {
            path: path.to_owned(),
            line: e.line,
            problem: e.problem,
        })?;
        let Some(section) = sections.get(profile) else {
            return Err(CredentialsError::NoProfile {
                path: path.to_owned(),
                profile: profile.to_owned(),
            });
        };
        let get = |key: &str| section.get(key).filter(|v| !v.is_empty()).cloned();
        let incomplete = |missing| CredentialsError::Incomplete {
            path: path.to_owned(),
            profile: profile.to_owned(),
            missing,
        };
        let id = get("aws_access_key_id").ok_or_else(|| incomplete("aws_access_key_id"))?;
        let secret =
            get("aws_secret_access_key").ok_or_else(|| incomplete("aws_secret_access_key"))?;
        let token = get("aws_session_token").or_else(|| get("aws_security_token"));
        Ok(Credentials::new(id, secret, token))
    }

    /// The access key id (safe to show).
    pub fn access_key_id(&self) -> &str {
        &self.access_key_id
    }

    pub(crate) fn secret_access_key(&self) -> &str {
        &self.secret_access_key
    }

    /// The session token of temporary credentials.
    pub fn session_token(&self) -> Option<&str> {
        self.session_token.as_deref()
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &"<redacted>")
            .field(
                "session_token",
                &self.session_token.as_ref().map(|_| "<redacted>"),
            )
            .finish()
    }
}

/// Parses INI text as the AWS tools read `~/.aws/credentials` (Python's configparser):
/// `[section]` headers, `key = value` or `key: value` lines with keys lowercased and
/// values trimmed, whole-line comments starting with `#` or `;`, and lines indented
/// deeper than the key above them continuing its value. Text after a value is kept
/// (no inline comments). A repeated section adds to the first; a repeated key wins.
pub fn parse_ini(text: &str) -> Result<IniSections, IniError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut sections = IniSections::new();
    let mut current: Option<String> = None;
    // The key being read and the indentation of its line, for continuations.
    let mut last_key: Option<(String, usize)> = None;
    for (index, raw) in text.lines().enumerate() {
        let line_no = index + 1;
        let trimmed = raw.trim();
        let indent = raw.len() - raw.trim_start().len();
        if trimmed.is_empty() || trimmed.starts_with('#') || trimmed.starts_with(';') {
            continue;
        }
        if let (Some(section), Some((key, key_indent))) = (&current, &last_key)
            && indent > *key_indent
        {
            if let Some(value) = sections.get_mut(section).and_then(|s| s.get_mut(key)) {
                if !value.is_empty() {
                    value.push('\n');
                }
                value.push_str(trimmed);
            }
            continue;
        }
        if let Some(inner) = trimmed.strip_prefix('[') {
            let Some(name) = inner.strip_suffix(']') else {
                return Err(IniError {
                    line: line_no,
                    problem: format!("section header {trimmed:?} has no closing ]"),
                });
            };
            let name = name.trim().to_owned();
            sections.entry(name.clone()).or_default();
            current = Some(name);
            last_key = None;
            continue;
        }
        let Some(split) = trimmed.find(['=', ':']) else {
            return Err(IniError {
                line: line_no,
                problem: "expected `key = value` or a [section] header".to_owned(),
            });
        };
        let (key, value) = trimmed.split_at(split);
        let key = key.trim().to_ascii_lowercase();
        let value = value.get(1..).unwrap_or("").trim().to_owned();
        if key.is_empty() {
            return Err(IniError {
                line: line_no,
                problem: "a value with no key".to_owned(),
            });
        }
        let Some(section) = &current else {
            return Err(IniError {
                line: line_no,
                problem: format!("`{key}` comes before any [section] header"),
            });
        };
        sections
            .entry(section.clone())
            .or_default()
            .insert(key.clone(), value);
        last_key = Some((key, indent));
    }
    Ok(sections)
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = "\
# written by aws configure
[default]
aws_access_key_id = AKIDDEFAULT
aws_secret_access_key = wJalr/K7MDENG+bPxRfiCY=EXAMPLEKEY

[deploy]
AWS_Access_Key_Id=AKIDDEPLOY
aws_secret_access_key:secret:with:colons
aws_session_token = token # not a comment
; a comment
[broken]
aws_access_key_id = AKIDBROKEN
";

    fn path() -> &'static Path {
        Path::new("/home/u/.aws/credentials")
    }

    #[test]
    fn reads_the_default_profile() {
        let c = Credentials::from_credentials_file(FILE, "default", path()).unwrap();
        assert_eq!(c.access_key_id(), "AKIDDEFAULT");
        assert_eq!(c.secret_access_key(), "wJalr/K7MDENG+bPxRfiCY=EXAMPLEKEY");
        assert_eq!(c.session_token(), None);
    }

    #[test]
    fn reads_a_named_profile_with_colons_mixed_case_keys_and_a_token() {
        let c = Credentials::from_credentials_file(FILE, "deploy", path()).unwrap();
        assert_eq!(c.access_key_id(), "AKIDDEPLOY");
        assert_eq!(c.secret_access_key(), "secret:with:colons");
        assert_eq!(c.session_token(), Some("token # not a comment"));
    }

    #[test]
    fn names_a_missing_profile_and_a_missing_key() {
        let e = Credentials::from_credentials_file(FILE, "prod", path()).unwrap_err();
        assert_eq!(
            e.to_string(),
            "/home/u/.aws/credentials has no profile [prod]"
        );
        let e = Credentials::from_credentials_file(FILE, "broken", path()).unwrap_err();
        assert_eq!(
            e.to_string(),
            "profile [broken] in /home/u/.aws/credentials has no aws_secret_access_key"
        );
    }

    #[test]
    fn reports_syntax_errors_with_their_line() {
        let e = parse_ini("[a]\nk = v\njust words\n").unwrap_err();
        assert_eq!(e.line, 3);
        let e = parse_ini("k = v\n[a]\n").unwrap_err();
        assert_eq!(e.line, 1);
        assert!(e.problem.contains("before any [section]"), "{}", e.problem);
        let e = parse_ini("[a\n").unwrap_err();
        assert_eq!(e.line, 1);
        assert!(parse_ini("[a]\n= v\n").is_err());
    }

    #[test]
    fn indented_lines_continue_a_value_and_crlf_and_bom_are_fine() {
        let text = "\u{feff}[p]\r\n  aws_access_key_id = A\r\n  aws_secret_access_key = S\r\ns3 =\r\n    max_concurrent_requests = 20\r\nregion = eu\r\n";
        let sections = parse_ini(text).unwrap();
        let p = &sections["p"];
        assert_eq!(p["aws_access_key_id"], "A");
        assert_eq!(p["aws_secret_access_key"], "S");
        assert_eq!(p["s3"], "max_concurrent_requests = 20");
        assert_eq!(p["region"], "eu");
    }

    #[test]
    fn repeated_sections_merge_and_later_keys_win() {
        let sections = parse_ini("[a]\nx = 1\n[b]\n[a]\nx = 2\ny = 3\n").unwrap();
        assert_eq!(sections["a"]["x"], "2");
        assert_eq!(sections["a"]["y"], "3");
        assert!(sections["b"].is_empty());
    }

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: BTreeMap<String, String> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        move |name| map.get(name).cloned()
    }

    #[test]
    fn environment_variables_come_first() {
        let c = Credentials::from_env(
            env(&[
                ("AWS_ACCESS_KEY_ID", "AKIDENV"),
                ("AWS_SECRET_ACCESS_KEY", "S"),
                ("AWS_SESSION_TOKEN", "T"),
            ]),
            None,
        )
        .unwrap();
        assert_eq!(c.access_key_id(), "AKIDENV");
        assert_eq!(c.session_token(), Some("T"));
        let e = Credentials::from_env(env(&[("AWS_ACCESS_KEY_ID", "A")]), None).unwrap_err();
        assert_eq!(
            e.to_string(),
            "AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not"
        );
    }

    #[test]
    fn the_file_under_home_and_aws_profile_are_used_otherwise() {
        let home = tempfile::tempdir().unwrap();
        std::fs::create_dir(home.path().join(".aws")).unwrap();
        std::fs::write(home.path().join(".aws/credentials"), FILE).unwrap();
        let c = Credentials::from_env(env(&[]), Some(home.path())).unwrap();
        assert_eq!(c.access_key_id(), "AKIDDEFAULT");
        let c = Credentials::from_env(
            env(&[("AWS_PROFILE", "deploy"), ("AWS_ACCESS_KEY_ID", "")]),
            Some(home.path()),
        )
        .unwrap();
        assert_eq!(c.access_key_id(), "AKIDDEPLOY");
    }

    #[test]
    fn aws_shared_credentials_file_overrides_home_and_absence_is_explained() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("creds");
        std::fs::write(&file, FILE).unwrap();
        let file_text = file.to_str().unwrap();
        let c = Credentials::from_env(
            env(&[
                ("AWS_SHARED_CREDENTIALS_FILE", file_text),
                ("AWS_PROFILE", "deploy"),
            ]),
            None,
        )
        .unwrap();
        assert_eq!(c.access_key_id(), "AKIDDEPLOY");
        let e = Credentials::from_env(env(&[]), Some(dir.path())).unwrap_err();
        assert!(
            e.to_string().ends_with(&format!(
                "there is no {}/.aws/credentials",
                dir.path().display()
            )),
            "{e}"
        );
        let e = Credentials::from_env(env(&[]), None).unwrap_err();
        assert!(e.to_string().contains("no home directory"), "{e}");
    }

    #[test]
    fn debug_output_hides_the_secret() {
        let c = Credentials::new("AKID", "very-secret", Some("tok".to_owned()));
        let shown = format!("{c:?}");
        assert!(shown.contains("AKID"));
        assert!(!shown.contains("very-secret"));
        assert!(!shown.contains("tok\""));
    }
}
