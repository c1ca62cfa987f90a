//! A log file rotated by size: `requests.log`, then `requests.log.1` (newest
//! rotated) … `requests.log.N-1`. Batches are split at line boundaries so
//! every file holds whole lines and stays within the limit (unless one line
//! alone is larger).

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::PathBuf;

/// The current file and its rotation rules.
pub struct RotatingFile {
    path: PathBuf,
    max_bytes: u64,
    /// Files kept, the current one included.
    max_files: usize,
    file: File,
    size: u64,
}

impl RotatingFile {
    /// Opens `path` for appending.
    pub fn open(path: PathBuf, max_bytes: u64, max_files: usize) -> io::Result<Self> {
        let file = OpenOptions::new().create(true).append(true).open(&path)?;
        let size = file.metadata()?.len();
        Ok(Self {
            path,
            max_bytes: max_bytes.max(1),
            max_files: max_files.max(1),
            file,
            size,
        })
    }

    /// The file and the rotated ones it keeps, newest first.
    pub fn files(&self) -> Vec<PathBuf> {
        std::iter::once(self.path.clone())
            .chain((1..self.max_files).map(|n| self.rotated(n)))
            .collect()
    }

    fn rotated(&self, n: usize) -> PathBuf {
        let mut name = self.path.clone().into_os_string();
        name.push(format!(".{n}"));
        PathBuf::from(name)
    }

    fn rotate(&mut self) -> io::Result<()> {
        self.file.flush()?;
        if self.max_files > 1 {
            let _ = fs::remove_file(self.rotated(self.max_files - 1));
            for n in (1..self.max_files - 1).rev() {
                let from = self.rotated(n);
                if from.exists() {
                    fs::rename(&from, self.rotated(n + 1))?;
                }
            }
            fs::rename(&self.path, self.rotated(1))?;
        }
        self.file = OpenOptions::new()
            .create(true)
            .write(true)
            .truncate(true)
            .open(&self.path)?;
        self.size = 0;
        Ok(())
    }

    /// Appends whole lines, rotating whenever the next line would not fit.
    pub fn write_lines(&mut self, mut lines: &[u8]) -> io::Result<()> {
        while !lines.is_empty() {
            let room = self.max_bytes.saturating_sub(self.size);
            let fits = fitting_prefix(lines, room);
            if fits == 0 {
                if self.size > 0 {
                    self.rotate()?;
                    continue;
                }
                // A single line larger than the limit gets a file of its own.
                let end = lines
                    .iter()
                    .position(|&b| b == b'\n')
                    .map_or(lines.len(), |i| i + 1);
                self.append(&lines[..end])?;
                lines = &lines[end..];
                continue;
            }
            self.append(&lines[..fits])?;
            lines = &lines[fits..];
        }
        Ok(())
    }

    fn append(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.file.write_all(bytes)?;
        self.size += bytes.len() as u64;
        Ok(())
    }
}

/// Length of the longest run of whole lines at the start of `lines` that is
/// at most `room` bytes.
fn fitting_prefix(lines: &[u8], room: u64) -> usize {
    let limit = usize::try_from(room).unwrap_or(usize::MAX).min(lines.len());
    if limit == lines.len() {
        return limit;
    }
    lines[..limit]
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |i| i + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rotates_at_line_boundaries_and_keeps_max_files() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("requests.log");
        let mut file = RotatingFile::open(path.clone(), 25, 3).unwrap();
        let batch: Vec<u8> = (0..10)
            .flat_map(|i| format!("line {i:04}\n").into_bytes())
            .collect();
        file.write_lines(&batch).unwrap();
        let read = |p: &PathBuf| fs::read_to_string(p).unwrap();
        // 10 bytes a line, 2 lines a file: the newest two files and one more.
        assert_eq!(read(&path), "line 0008\nline 0009\n");
        assert_eq!(read(&file.rotated(1)), "line 0006\nline 0007\n");
        assert_eq!(read(&file.rotated(2)), "line 0004\nline 0005\n");
        assert!(!file.rotated(3).exists());
    }

    #[test]
    fn a_line_longer_than_the_limit_is_kept_whole() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("requests.log");
        let mut file = RotatingFile::open(path.clone(), 4, 2).unwrap();
        file.write_lines(b"a long line\nok\n").unwrap();
        assert_eq!(fs::read_to_string(&path).unwrap(), "ok\n");
        assert_eq!(
            fs::read_to_string(file.rotated(1)).unwrap(),
            "a long line\n"
        );
    }
}
