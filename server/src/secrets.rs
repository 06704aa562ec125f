//! Reading secrets from files. (Placeholder until the secrets module lands; see issue 15.)

use std::path::Path;

use anyhow::Context;

/// Reads a secret file, refusing one that group or others may read.
pub fn read_secret_file(path: &Path) -> anyhow::Result<Vec<u8>> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(path).with_context(|| format!("cannot read {}", path.display()))?.permissions().mode();
        anyhow::ensure!(mode & 0o077 == 0, "{} is readable by group or others (mode {:o}): run `chmod 600 {}`", path.display(), mode & 0o777, path.display());
    }
    std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))
}
