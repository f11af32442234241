//! Results out: records of finished runs, rendered as a terminal table and CSV, and written
//! atomically. This is the only module that writes files; what their columns are and mean is
//! in [`crate::catalogue`].
//!
//! Rendering is pure (records in, bytes out) and tested on hand-built records; writing goes
//! to a temporary file in the target directory followed by a rename, so a reader (or a
//! crash) never sees a half-written result.

mod audit;
mod csv;
mod table;

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

pub use self::audit::{audit_jsonl, AuditedRun};
pub(crate) use self::csv::float_cell;
pub use self::csv::{classes_csv, faults_csv, runs_csv, services_csv, timeseries_csv};
pub use self::table::runs_table;

use crate::metrics::RunSummary;

/// One finished run and what identifies it.
#[derive(Clone, Debug, PartialEq)]
pub struct RunRecord {
    /// Scenario name.
    pub scenario: String,
    /// The sweep cell: the swept keys and their values, as `key=value` joined by `;` in the
    /// sweep's order (empty outside a sweep).
    pub cell: String,
    /// The name of the policy the run used (a built-in's name, or the name a policy from
    /// outside the crate goes by).
    pub policy: String,
    /// Replication index (0-based).
    pub replication: u32,
    /// Master seed; with the replication index it determines every random stream.
    pub seed: u64,
    /// The run's figures.
    pub summary: RunSummary,
}

/// A result file could not be written.
#[derive(Debug, thiserror::Error)]
#[error("cannot write {}", .path.display())]
pub struct ReportError {
    /// The file (or directory) that could not be written.
    pub path: PathBuf,
    /// What the OS said.
    pub source: std::io::Error,
}

/// Writes `bytes` to `path` atomically: a temporary file in the same directory, flushed to
/// disk, then renamed over `path`. Creates the directory if needed.
///
/// # Errors
/// [`ReportError`] with the path that failed; the target is then left as it was.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), ReportError> {
    write_all_atomic(&[(path, bytes)])
}

/// The directory a file is in (`.` for a bare name).
fn parent(path: &Path) -> &Path {
    path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."))
}

/// Flushes a directory's entries to disk (on Unix; elsewhere a directory cannot be opened
/// for that, and renames are flushed with the files).
fn sync_dir(dir: &Path) -> std::io::Result<()> {
    if cfg!(unix) {
        fs::File::open(dir)?.sync_all()
    } else {
        Ok(())
    }
}

/// Checks, before any work, that result files can be written into `dir`: it is a directory
/// (or does not exist yet, and its nearest existing ancestor is one) where a file can be
/// created. Creates nothing that stays.
///
/// # Errors
/// [`ReportError`] naming the directory (or the ancestor) that cannot be written.
pub fn check_writable(dir: &Path) -> Result<(), ReportError> {
    let mut existing = dir;
    while !existing.exists() {
        match existing.parent().filter(|p| !p.as_os_str().is_empty()) {
            Some(up) => existing = up,
            None => {
                existing = Path::new(".");
                break;
            }
        }
    }
    if !existing.is_dir() {
        let source = std::io::Error::other("it is a file, not a directory");
        return Err(ReportError { path: existing.to_owned(), source });
    }
    let probe = existing.join(format!(".coordsim-write-check.{}.tmp", std::process::id()));
    match fs::File::create(&probe) {
        Ok(_) => {
            let _ = fs::remove_file(&probe);
            Ok(())
        }
        Err(source) => Err(ReportError { path: existing.to_owned(), source }),
    }
}

/// Writes several files atomically, as a group: every file goes to a temporary beside its
/// target and is flushed to disk, and only when all of them are written are they renamed
/// over their targets. A failure before the renames leaves every target as it was.
///
/// The temporaries are flushed at the same time, one thread each: a flush waits for the
/// device (about 1 ms each on the development machine's virtual disk, where four in a row
/// were 5% of a 1M-job M/M/c run), and flushes that wait together are served together.
///
/// # Errors
/// [`ReportError`] with the path that failed.
pub fn write_all_atomic(files: &[(&Path, &[u8])]) -> Result<(), ReportError> {
    let mut temps: Vec<(PathBuf, &Path)> = Vec::with_capacity(files.len());
    let result = (|| {
        let mut written = Vec::with_capacity(files.len());
        for &(path, bytes) in files {
            let dir = parent(path);
            fs::create_dir_all(dir)
                .map_err(|source| ReportError { path: dir.to_owned(), source })?;
            let name =
                path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            let temp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
            let fail = |source| ReportError { path: path.to_owned(), source };
            let mut file = fs::File::create(&temp).map_err(fail)?;
            temps.push((temp, path));
            file.write_all(bytes).map_err(fail)?;
            written.push((file, path));
        }
        // Flushed at the same time, one thread a file: each flush waits for the device, and
        // flushes that wait together are served together. A single file needs no thread.
        if let [(file, path)] = written.as_slice() {
            file.sync_all().map_err(|source| ReportError { path: path.to_path_buf(), source })?;
        } else {
            std::thread::scope(|scope| {
                // A flush whose thread cannot be started is done here, when its turn comes.
                let flushes: Vec<_> = written
                    .iter()
                    .map(|(file, path)| {
                        let flush = std::thread::Builder::new()
                            .spawn_scoped(scope, || file.sync_all())
                            .ok();
                        (flush, file, path)
                    })
                    .collect();
                flushes.into_iter().try_for_each(|(flush, file, path)| {
                    let flushed = match flush {
                        Some(flush) => flush.join().expect("flushing a file does not panic"),
                        None => file.sync_all(),
                    };
                    flushed.map_err(|source| ReportError { path: path.to_path_buf(), source })
                })
            })?;
        }
        for (temp, path) in &temps {
            fs::rename(temp, path)
                .map_err(|source| ReportError { path: path.to_path_buf(), source })?;
        }
        // The renames are entries of their directories: flush those too, so that a crash
        // after this returns cannot lose a file that was reported written.
        let mut dirs: Vec<&Path> = temps.iter().map(|(_, path)| parent(path)).collect();
        dirs.sort();
        dirs.dedup();
        for dir in dirs {
            sync_dir(dir).map_err(|source| ReportError { path: dir.to_owned(), source })?;
        }
        temps.clear();
        Ok(())
    })();
    // Best effort: the error that matters is the write's, not the clean-up's.
    for (temp, _) in &temps {
        let _ = fs::remove_file(temp);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atomic_write_replaces_and_leaves_no_temporary() {
        let dir = std::env::temp_dir().join(format!("coordsim-report-{}", std::process::id()));
        let path = dir.join("sub").join("x.csv");
        write_atomic(&path, b"one").unwrap();
        write_atomic(&path, b"two").unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"two");
        let names: Vec<_> =
            fs::read_dir(path.parent().unwrap()).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(names, vec![std::ffi::OsString::from("x.csv")]);
        fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn unwritable_target_names_the_path() {
        let err = write_atomic(Path::new("/proc/coordsim-cannot/x.csv"), b"").unwrap_err();
        assert!(err.to_string().contains("/proc/coordsim-cannot"), "{err}");
    }

    #[test]
    fn a_group_with_one_unwritable_file_changes_no_target() {
        let dir = std::env::temp_dir().join(format!("coordsim-group-{}", std::process::id()));
        let (a, b) = (dir.join("a.csv"), dir.join("b.csv"));
        write_all_atomic(&[(&a, b"a1"), (&b, b"b1")]).unwrap();
        assert_eq!(
            (fs::read(&a).unwrap(), fs::read(&b).unwrap()),
            (b"a1".to_vec(), b"b1".to_vec())
        );
        // The second file cannot be created: the first, already written to its temporary,
        // must not replace its target either.
        let bad = Path::new("/proc/coordsim-cannot/c.csv");
        let err = write_all_atomic(&[(&a, b"a2"), (bad, b"c2")]).unwrap_err();
        assert!(err.to_string().contains("/proc/coordsim-cannot"), "{err}");
        assert_eq!(fs::read(&a).unwrap(), b"a1");
        let mut names: Vec<_> =
            fs::read_dir(&dir).unwrap().map(|e| e.unwrap().file_name()).collect();
        names.sort();
        assert_eq!(names, ["a.csv", "b.csv"].map(std::ffi::OsString::from), "no temporary is left");
        fs::remove_dir_all(dir).unwrap();
    }
}
