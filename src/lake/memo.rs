//! Facts learned from files and kept between runs (what a mart file's footer says, which postings
//! a partition does not hold), each valid only for the version of the file it was learned from.
//!
//! Every lake and mart file is written to a temp file and renamed into place, so each version of
//! a file is a new inode with its own size and times: a fact whose file's [`Stamp`] changed is
//! never used, and is learned again. A memo is a cache, nothing more: a missing, stale or
//! unreadable one costs the reads it would have saved, never a wrong number. That is why two
//! processes or threads saving at once need no lock: the last rename wins, and each file is whole
//! ([`write_file_atomically`](super::write_file_atomically)).

use std::collections::BTreeMap;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use serde::Serialize;
use serde::de::DeserializeOwned;

/// One version of a file: its inode, size, and modification and change times (nanoseconds).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Stamp {
    ino: u64,
    len: u64,
    mtime_ns: i64,
    ctime_ns: i64,
}

impl Stamp {
    /// The file as it is now, or `None` when it cannot be read (then nothing is known of it).
    pub fn of(path: &Path) -> Option<Stamp> {
        let m = std::fs::metadata(path).ok()?;
        let ns = |s: i64, n: i64| s.saturating_mul(1_000_000_000).saturating_add(n);
        Some(Stamp {
            ino: m.ino(),
            len: m.len(),
            mtime_ns: ns(m.mtime(), m.mtime_nsec()),
            ctime_ns: ns(m.ctime(), m.ctime_nsec()),
        })
    }
}

/// Facts of type `T` about the files under one directory, kept in one JSON file there.
#[derive(Debug)]
pub struct Memo<T> {
    path: PathBuf,
    /// The directory the files' names are relative to (a lake or a mart moved whole keeps them).
    base: PathBuf,
    facts: BTreeMap<String, (Stamp, T)>,
    changed: bool,
}

impl<T: Serialize + DeserializeOwned> Memo<T> {
    /// The memo kept at `path`, about files under `base`; empty when there is none or it cannot
    /// be read (a version that kept other facts, a crash before the rename reached the disk).
    pub fn load(path: PathBuf, base: PathBuf) -> Memo<T> {
        let facts = match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes).unwrap_or_else(|e| {
                tracing::debug!(memo = %path.display(), error = %e, "memo unreadable: starting it again");
                BTreeMap::new()
            }),
            Err(_) => BTreeMap::new(),
        };
        Memo { path, base, facts, changed: false }
    }

    fn key(&self, file: &Path) -> String {
        file.strip_prefix(&self.base).unwrap_or(file).to_string_lossy().into_owned()
    }

    /// What was learned from `file` in the version `stamp`, if anything.
    pub fn get(&self, file: &Path, stamp: Option<Stamp>) -> Option<&T> {
        let stamp = stamp?;
        self.facts.get(&self.key(file)).filter(|(s, _)| *s == stamp).map(|(_, fact)| fact)
    }

    /// Records what was learned from `file` in the version `stamp` (read before the file was).
    pub fn put(&mut self, file: &Path, stamp: Stamp, fact: T) {
        let key = self.key(file);
        self.facts.insert(key, (stamp, fact));
        self.changed = true;
    }

    /// Writes the memo when something was learned, without the facts of files that are gone.
    /// A memo that cannot be written is only a cache not kept: logged, not an error.
    pub fn save(mut self) {
        if !self.changed {
            return;
        }
        let base = self.base.clone();
        self.facts.retain(|name, _| base.join(name).exists());
        if let Err(e) = self.write() {
            tracing::debug!(memo = %self.path.display(), error = %e, "memo not saved");
        }
    }

    fn write(&self) -> std::io::Result<()> {
        let bytes = serde_json::to_vec(&self.facts).map_err(std::io::Error::other)?;
        super::write_file_atomically(&self.path, &bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fact_holds_for_the_version_of_the_file_it_was_learned_from_only() {
        let dir = tempfile::tempdir().unwrap();
        let (file, memo_path) = (dir.path().join("a/part.parquet"), dir.path().join(".memo/facts.json"));
        std::fs::create_dir_all(file.parent().unwrap()).unwrap();
        crate::lake::write_file_atomically(&file, b"one").unwrap();
        let mut memo: Memo<u32> = Memo::load(memo_path.clone(), dir.path().to_path_buf());
        let first = Stamp::of(&file);
        memo.put(&file, first.unwrap(), 7);
        memo.save();
        let memo: Memo<u32> = Memo::load(memo_path.clone(), dir.path().to_path_buf());
        assert_eq!(memo.get(&file, Stamp::of(&file)), Some(&7));
        // The same size written again, as every lake file is: another version, nothing known.
        crate::lake::write_file_atomically(&file, b"two").unwrap();
        assert_ne!(Stamp::of(&file), first);
        assert_eq!(memo.get(&file, Stamp::of(&file)), None);
        // A file that is gone is dropped when the memo is saved; a broken memo is an empty one.
        let mut memo: Memo<u32> = Memo::load(memo_path.clone(), dir.path().to_path_buf());
        let other = dir.path().join("a/other.parquet");
        crate::lake::write_file_atomically(&other, b"x").unwrap();
        memo.put(&other, Stamp::of(&other).unwrap(), 1);
        std::fs::remove_file(&file).unwrap();
        memo.save();
        let text = std::fs::read_to_string(&memo_path).unwrap();
        assert!(text.contains("other.parquet") && !text.contains("part.parquet"), "{text}");
        std::fs::write(&memo_path, b"{not json").unwrap();
        let memo: Memo<u32> = Memo::load(memo_path, dir.path().to_path_buf());
        assert_eq!(memo.get(&other, Stamp::of(&other)), None);
    }
}
