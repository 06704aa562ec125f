//! Where secrets come from: a file only its owner can read, or an environment variable, never
//! the command line (argv is visible to every user of the machine in `ps`).
//!
//! A secret file readable by its group or by others (`mode & 0o077 != 0`) is refused with the
//! `chmod 600` that fixes it, unless the process was started with
//! `--allow-insecure-secret-files` (then it is used and a warning is logged). That choice is a
//! process-wide setting ([`allow_insecure_files`]) made once from the command line, so every
//! reader of a secret or token file applies the same rule.
//!
//! The environment variables: `READSET_STORE_SECRET_ACCESS_KEY` (store's secret access key),
//! `READSET_SBG_TOKEN` (the Seven Bridges token: the store accepts it, the proxy sends it),
//! `READSET_JWT_SECRET` (the proxy's HS256 secret).

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::Context;

/// Environment variable holding the store's secret access key.
pub const ENV_STORE_SECRET_ACCESS_KEY: &str = "READSET_STORE_SECRET_ACCESS_KEY";
/// Environment variable holding the Seven Bridges token.
pub const ENV_SBG_TOKEN: &str = "READSET_SBG_TOKEN";
/// Environment variable holding the proxy's HS256 JWT secret.
pub const ENV_JWT_SECRET: &str = "READSET_JWT_SECRET";

static ALLOW_INSECURE: AtomicBool = AtomicBool::new(false);

/// Makes [`read_file`] accept (with a warning) secret files readable by group or others
/// (`--allow-insecure-secret-files`).
pub fn allow_insecure_files(allow: bool) {
    ALLOW_INSECURE.store(allow, Ordering::SeqCst);
}

/// Reads the secret file `path` (`what` names it in messages: "JWT secret"), refusing it when
/// its mode lets group or others read or write it.
pub fn read_file(path: &Path, what: &str) -> anyhow::Result<Vec<u8>> {
    let file = std::fs::File::open(path).with_context(|| format!("cannot read the {what} file {}", path.display()))?;
    check_mode(&file, path, what)?;
    let mut bytes = Vec::new();
    std::io::Read::read_to_end(&mut &file, &mut bytes).with_context(|| format!("cannot read the {what} file {}", path.display()))?;
    Ok(bytes)
}

#[cfg(unix)]
fn check_mode(file: &std::fs::File, path: &Path, what: &str) -> anyhow::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let mode = file.metadata().with_context(|| format!("cannot stat the {what} file {}", path.display()))?.permissions().mode();
    if mode & 0o077 == 0 {
        return Ok(());
    }
    if ALLOW_INSECURE.load(Ordering::SeqCst) {
        tracing::warn!(file = %path.display(), mode = format!("{:o}", mode & 0o777), "the {what} file is readable by group or others; used because of --allow-insecure-secret-files");
        return Ok(());
    }
    anyhow::bail!(
        "the {what} file {} has mode {:o}: group or others can read it; run `chmod 600 {}` (or pass --allow-insecure-secret-files)",
        path.display(),
        mode & 0o777,
        path.display()
    )
}

#[cfg(not(unix))]
fn check_mode(_file: &std::fs::File, _path: &Path, _what: &str) -> anyhow::Result<()> {
    Ok(())
}

/// A secret as text: from `file` (one trailing newline dropped) or from the environment
/// variable `env`; `None` when neither is given; an error when both are.
/// `flag` is the file option's name for messages (`--secret-access-key-file`).
pub fn text_from_file_or_env(file: Option<&Path>, flag: &str, env: &str, what: &str) -> anyhow::Result<Option<String>> {
    let from_env = std::env::var_os(env);
    match (file, from_env) {
        (Some(_), Some(_)) => anyhow::bail!("give the {what} with {flag} or with {env}, not both"),
        (Some(path), None) => {
            let bytes = read_file(path, what)?;
            let text = String::from_utf8(bytes).map_err(|_| anyhow::anyhow!("the {what} file {} is not UTF-8 text", path.display()))?;
            Ok(Some(trim_newline(&text).to_owned()))
        }
        (None, Some(value)) => {
            let text = value.into_string().map_err(|_| anyhow::anyhow!("{env} is not UTF-8 text"))?;
            anyhow::ensure!(!text.is_empty(), "{env} is set but empty");
            Ok(Some(trim_newline(&text).to_owned()))
        }
        (None, None) => Ok(None),
    }
}

fn trim_newline(s: &str) -> &str {
    let s = s.strip_suffix('\n').unwrap_or(s);
    s.strip_suffix('\r').unwrap_or(s)
}

/// The error for a secret given on the command line: names the file and environment forms,
/// never the value.
pub fn refuse_argv(flag: &str, file_flag: &str, env: &str) -> anyhow::Error {
    anyhow::anyhow!(
        "{flag} puts the secret on the command line, where every user of the machine can read it (ps); \
         put it in a file only you can read and give {file_flag} FILE (chmod 600 FILE), or set {env}"
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn owner_only_files_are_read_and_others_refused_with_the_chmod() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s");
        std::fs::write(&path, "top\n").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        assert_eq!(read_file(&path, "test secret").unwrap(), b"top\n");
        for mode in [0o640, 0o604, 0o644, 0o620] {
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
            let e = read_file(&path, "test secret").unwrap_err().to_string();
            assert_eq!(
                e,
                format!(
                    "the test secret file {0} has mode {mode:o}: group or others can read it; run `chmod 600 {0}` (or pass --allow-insecure-secret-files)",
                    path.display()
                )
            );
            assert!(!e.contains("top"));
        }
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o400)).unwrap();
        assert_eq!(
            text_from_file_or_env(Some(&path), "--x-file", "READSET_TEST_UNSET_VARIABLE_1", "test secret").unwrap().as_deref(),
            Some("top")
        );
        assert!(text_from_file_or_env(None, "--x-file", "READSET_TEST_UNSET_VARIABLE_1", "t").unwrap().is_none());
    }

    #[test]
    fn argv_refusal_names_the_alternatives() {
        let e = refuse_argv("--sbg-token", "--sbg-token-file", ENV_SBG_TOKEN).to_string();
        assert!(e.contains("--sbg-token-file FILE (chmod 600 FILE)") && e.contains("READSET_SBG_TOKEN"), "{e}");
    }
}
