//! An append-only log of opaque records in segment files, plus an `acked` file
//! holding the highest delivered sequence number.
//!
//! Frame: `len u32 LE | crc32 u32 LE | seq u64 LE | payload[len]`, the CRC over
//! `seq | payload`. Every append is `write` + `fdatasync` before it is reported
//! done (concurrent appends share one write and one `fdatasync`: group commit), so an
//! acknowledged append survives a crash. A crash mid-append leaves a
//! torn last frame: on open it fails its length or CRC check and is cut off
//! (nothing acknowledged is lost, since its append never returned). `acked` is
//! replaced atomically (write, fsync, rename, fsync dir). Compaction: segments
//! whose records are all acknowledged are deleted, and the active segment is
//! rolled once it is full or fully acknowledged.

use std::collections::{BTreeMap, VecDeque};
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use super::group_commit::GroupCommit;

const HEADER: usize = 16;
const ACKED_FILE: &str = "acked";
/// Size at which the active segment is rolled into a new one.
const SEGMENT_BYTES: u64 = 16 * 1024 * 1024;
/// Bytes [`Outbox::check_room`] asks for: a typical small record (a proposal).
const ROOM_BYTES: u64 = 16 * 1024;
/// A frame longer than this is corruption, not data.
const MAX_PAYLOAD: u32 = 64 * 1024 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OutboxLimits {
    /// Bytes on disk of records not yet acknowledged (frames included).
    pub max_bytes: u64,
    pub max_records: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum OutboxError {
    #[error(
        "outbox {name} is full ({records} records, {bytes} bytes pending; limits {max_records} records, {max_bytes} bytes)"
    )]
    Full {
        name: &'static str,
        records: u64,
        bytes: u64,
        max_records: u64,
        max_bytes: u64,
    },
    #[error("outbox {name}: {action} {}: {source}", path.display())]
    Io {
        name: &'static str,
        action: &'static str,
        path: PathBuf,
        source: io::Error,
    },
    #[error("outbox {name}: record of {len} bytes exceeds the limit of one record")]
    TooLarge { name: &'static str, len: usize },
}

impl OutboxError {
    /// The same error for another record of a failed group commit (`io::Error` is not
    /// `Clone`: its kind and message are kept).
    fn duplicate(&self) -> Self {
        match self {
            Self::Full {
                name,
                records,
                bytes,
                max_records,
                max_bytes,
            } => Self::Full {
                name,
                records: *records,
                bytes: *bytes,
                max_records: *max_records,
                max_bytes: *max_bytes,
            },
            Self::Io {
                name,
                action,
                path,
                source,
            } => Self::Io {
                name,
                action,
                path: path.clone(),
                source: io::Error::new(source.kind(), source.to_string()),
            },
            Self::TooLarge { name, len } => Self::TooLarge { name, len: *len },
        }
    }
}

/// Depth of the outbox: records and bytes not acknowledged yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Depth {
    pub records: u64,
    pub bytes: u64,
}

#[derive(Debug, Clone, Copy)]
struct RecordRef {
    seq: u64,
    segment: u64,
    offset: u64,
    len: u32,
}

impl RecordRef {
    fn frame_bytes(&self) -> u64 {
        HEADER as u64 + u64::from(self.len)
    }
}

#[derive(Debug)]
struct State {
    active: File,
    active_id: u64,
    active_len: u64,
    next_seq: u64,
    acked: u64,
    pending: VecDeque<RecordRef>,
    pending_bytes: u64,
    /// Segment id (first seq it may hold) -> highest seq written to it.
    segments: BTreeMap<u64, u64>,
}

/// What [`Outbox::open`] found on disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Recovery {
    pub pending: u64,
    /// Bytes cut off the end of a segment (a torn or corrupt frame).
    pub truncated_bytes: u64,
}

#[derive(Debug)]
pub struct Outbox {
    name: &'static str,
    dir: PathBuf,
    limits: OutboxLimits,
    state: Mutex<State>,
    commits: GroupCommit<Vec<u8>, Result<u64, OutboxError>>,
}

fn segment_path(dir: &Path, id: u64) -> PathBuf {
    dir.join(format!("seg-{id:020}.log"))
}

fn checksum(seq: u64, payload: &[u8]) -> u32 {
    let mut h = crc32fast::Hasher::new();
    h.update(&seq.to_le_bytes());
    h.update(payload);
    h.finalize()
}

impl Outbox {
    /// Opens (creating if needed) the outbox in `dir`, recovering what is there.
    pub fn open(
        name: &'static str,
        dir: &Path,
        limits: OutboxLimits,
    ) -> Result<(Self, Recovery), OutboxError> {
        let io = |action: &'static str, path: &Path| {
            let path = path.to_path_buf();
            move |source| OutboxError::Io {
                name,
                action,
                path,
                source,
            }
        };
        fs::create_dir_all(dir).map_err(io("cannot create", dir))?;
        let acked_path = dir.join(ACKED_FILE);
        let acked = match fs::read_to_string(&acked_path) {
            Ok(text) => text.trim().parse::<u64>().unwrap_or(0),
            Err(e) if e.kind() == io::ErrorKind::NotFound => 0,
            Err(e) => return Err(io("cannot read", &acked_path)(e)),
        };
        let mut ids = Vec::new();
        for entry in fs::read_dir(dir).map_err(io("cannot list", dir))? {
            let entry = entry.map_err(io("cannot list", dir))?;
            let file_name = entry.file_name();
            let Some(id) = file_name
                .to_str()
                .and_then(|n| n.strip_prefix("seg-"))
                .and_then(|n| n.strip_suffix(".log"))
                .and_then(|n| n.parse::<u64>().ok())
            else {
                continue;
            };
            ids.push(id);
        }
        ids.sort_unstable();

        let mut recovery = Recovery::default();
        let mut pending = VecDeque::new();
        let mut pending_bytes = 0;
        let mut segments = BTreeMap::new();
        let mut max_seq = acked;
        for &id in &ids {
            let path = segment_path(dir, id);
            let (records, valid_len, file_len) =
                scan_segment(&path, id).map_err(io("cannot read", &path))?;
            if valid_len < file_len {
                tracing::warn!(outbox = name, segment = %path.display(), dropped_bytes = file_len - valid_len, "torn or corrupt record at the end of a segment: cut off");
                recovery.truncated_bytes += file_len - valid_len;
                let file = OpenOptions::new()
                    .write(true)
                    .open(&path)
                    .map_err(io("cannot open", &path))?;
                file.set_len(valid_len)
                    .map_err(io("cannot truncate", &path))?;
                file.sync_all().map_err(io("cannot sync", &path))?;
            }
            let last = records.last().map_or(id.saturating_sub(1), |r| r.seq);
            max_seq = max_seq.max(last);
            segments.insert(id, last);
            for r in records.into_iter().filter(|r| r.seq > acked) {
                pending_bytes += r.frame_bytes();
                pending.push_back(r);
            }
        }
        recovery.pending = pending.len() as u64;
        let next_seq = max_seq + 1;

        // Always append to a fresh segment after a restart: the previous active
        // segment may end where a torn frame was cut off, and starting anew keeps
        // "only the last frame of the last segment can be torn" simple to reason about.
        let active_id = next_seq;
        let active_path = segment_path(dir, active_id);
        let active = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&active_path)
            .map_err(io("cannot create", &active_path))?;
        sync_dir(dir).map_err(io("cannot sync", dir))?;
        segments.insert(active_id, active_id - 1);
        let active_len = active
            .metadata()
            .map_err(io("cannot stat", &active_path))?
            .len();

        let outbox = Self {
            name,
            dir: dir.to_path_buf(),
            limits,
            state: Mutex::new(State {
                active,
                active_id,
                active_len,
                next_seq,
                acked,
                pending,
                pending_bytes,
                segments,
            }),
            commits: GroupCommit::default(),
        };
        outbox.compact()?;
        Ok((outbox, recovery))
    }

    pub fn name(&self) -> &'static str {
        self.name
    }

    pub fn depth(&self) -> Depth {
        let state = self.lock();
        Depth {
            records: state.pending.len() as u64,
            bytes: state.pending_bytes,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // The state is only changed after the disk write it describes succeeded,
        // so a panic elsewhere cannot leave it ahead of the disk.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn io_err(&self, action: &'static str, path: &Path, source: io::Error) -> OutboxError {
        OutboxError::Io {
            name: self.name,
            action,
            path: path.to_path_buf(),
            source,
        }
    }

    /// `Ok` when one more small record would fit now; the `Full` error otherwise.
    /// Lets a caller refuse work whose record could not be kept, before doing it.
    /// Never waits: while an append holds the lock (it may be in an fsync), the
    /// answer is `Ok` and that append's own check decides.
    pub fn check_room(&self) -> Result<(), OutboxError> {
        let state = match self.state.try_lock() {
            Ok(state) => state,
            Err(std::sync::TryLockError::Poisoned(e)) => e.into_inner(),
            Err(std::sync::TryLockError::WouldBlock) => return Ok(()),
        };
        self.room_for(state.pending.len() as u64, state.pending_bytes, ROOM_BYTES)
    }

    /// `Ok` when one more record of `frame_bytes` fits beside `records` records of
    /// `bytes` pending.
    fn room_for(&self, records: u64, bytes: u64, frame_bytes: u64) -> Result<(), OutboxError> {
        if records + 1 > self.limits.max_records || bytes + frame_bytes > self.limits.max_bytes {
            return Err(OutboxError::Full {
                name: self.name,
                records,
                bytes,
                max_records: self.limits.max_records,
                max_bytes: self.limits.max_bytes,
            });
        }
        Ok(())
    }

    /// Appends one record durably (fsync'd before returning); returns its seq.
    /// Concurrent appends are group-committed: written together, one `fdatasync`.
    /// Takes the payload by value: it is handed to the group commit as it is.
    pub fn append(&self, payload: impl Into<Vec<u8>>) -> Result<u64, OutboxError> {
        let payload = payload.into();
        u32::try_from(payload.len())
            .ok()
            .filter(|&l| l <= MAX_PAYLOAD)
            .ok_or(OutboxError::TooLarge {
                name: self.name,
                len: payload.len(),
            })?;
        self.commits
            .submit(payload, |batch| self.append_batch(batch))
            .unwrap_or_else(|| {
                Err(self.io_err(
                    "lost an append (its group commit failed) to",
                    &self.dir,
                    io::Error::other("group commit ended without a result"),
                ))
            })
    }

    /// Writes the frames of every payload that fits, then syncs once; the state only
    /// learns of them after the sync succeeded. One result per payload, in order.
    fn append_batch(&self, payloads: Vec<Vec<u8>>) -> Vec<Result<u64, OutboxError>> {
        let mut state = self.lock();
        if state.active_len >= SEGMENT_BYTES
            && let Err(e) = self.roll(&mut state)
        {
            return payloads.iter().map(|_| Err(e.duplicate())).collect();
        }
        let start = state.active_len;
        let (mut records, mut bytes) = (state.pending.len() as u64, state.pending_bytes);
        let mut next = RecordRef {
            seq: state.next_seq,
            segment: state.active_id,
            offset: start,
            len: 0,
        };
        let mut frames = Vec::new();
        let mut accepted = Vec::new();
        let mut results = Vec::with_capacity(payloads.len());
        for payload in &payloads {
            // `append` refused what does not fit a u32 length.
            let len = u32::try_from(payload.len()).unwrap_or(MAX_PAYLOAD);
            let frame_bytes = HEADER as u64 + u64::from(len);
            if let Err(e) = self.room_for(records, bytes, frame_bytes) {
                results.push(Err(e));
                continue;
            }
            frames.extend_from_slice(&len.to_le_bytes());
            frames.extend_from_slice(&checksum(next.seq, payload).to_le_bytes());
            frames.extend_from_slice(&next.seq.to_le_bytes());
            frames.extend_from_slice(payload);
            accepted.push(RecordRef { len, ..next });
            results.push(Ok(next.seq));
            next.seq += 1;
            next.offset += frame_bytes;
            records += 1;
            bytes += frame_bytes;
        }
        if accepted.is_empty() {
            return results;
        }
        let written = state
            .active
            .write_all(&frames)
            .and_then(|()| state.active.sync_data());
        if let Err(e) = written {
            // Leave no partial frame behind for the next append to follow.
            let _ = state.active.set_len(start);
            let path = segment_path(&self.dir, state.active_id);
            let e = self.io_err("cannot append to", &path, e);
            return results
                .into_iter()
                .map(|r| r.and_then(|_| Err(e.duplicate())))
                .collect();
        }
        for r in accepted {
            state.active_len += r.frame_bytes();
            state.pending_bytes += r.frame_bytes();
            state.segments.insert(r.segment, r.seq);
            state.pending.push_back(r);
        }
        state.next_seq = next.seq;
        results
    }

    fn roll(&self, state: &mut State) -> Result<(), OutboxError> {
        let id = state.next_seq;
        let path = segment_path(&self.dir, id);
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(|e| self.io_err("cannot create", &path, e))?;
        sync_dir(&self.dir).map_err(|e| self.io_err("cannot sync", &self.dir, e))?;
        state.active = file;
        state.active_id = id;
        state.active_len = 0;
        state.segments.insert(id, id - 1);
        Ok(())
    }

    /// The oldest `max` records not acknowledged yet, in order: `(seq, payload)`.
    pub fn peek(&self, max: usize) -> Result<Vec<(u64, Vec<u8>)>, OutboxError> {
        let refs: Vec<RecordRef> = self.lock().pending.iter().take(max).copied().collect();
        let mut out = Vec::with_capacity(refs.len());
        let mut open: Option<(u64, File)> = None;
        for r in refs {
            let path = segment_path(&self.dir, r.segment);
            if open.as_ref().is_none_or(|(id, _)| *id != r.segment) {
                let file = File::open(&path).map_err(|e| self.io_err("cannot open", &path, e))?;
                open = Some((r.segment, file));
            }
            let Some((_, file)) = open.as_ref() else {
                continue;
            };
            let mut payload = vec![0u8; r.len as usize];
            file.read_exact_at(&mut payload, r.offset + HEADER as u64)
                .map_err(|e| self.io_err("cannot read", &path, e))?;
            out.push((r.seq, payload));
        }
        Ok(out)
    }

    /// Marks every record up to and including `seq` delivered, durably, and
    /// deletes what no longer holds pending records.
    pub fn ack_through(&self, seq: u64) -> Result<(), OutboxError> {
        {
            let mut state = self.lock();
            if seq <= state.acked {
                return Ok(());
            }
            write_atomically(&self.dir, ACKED_FILE, seq.to_string().as_bytes())
                .map_err(|e| self.io_err("cannot write", &self.dir.join(ACKED_FILE), e))?;
            state.acked = seq;
            while state.pending.front().is_some_and(|r| r.seq <= seq) {
                if let Some(r) = state.pending.pop_front() {
                    state.pending_bytes -= r.frame_bytes();
                }
            }
        }
        self.compact()
    }

    /// Deletes segments whose records are all acknowledged; rolls a large,
    /// fully acknowledged active segment so its space is freed too.
    fn compact(&self) -> Result<(), OutboxError> {
        let mut state = self.lock();
        if state.pending.is_empty() && state.active_len >= SEGMENT_BYTES / 4 {
            self.roll(&mut state)?;
        }
        let acked = state.acked;
        let active = state.active_id;
        let done: Vec<u64> = state
            .segments
            .iter()
            .filter(|&(&id, &last)| id != active && last <= acked)
            .map(|(&id, _)| id)
            .collect();
        for id in done {
            let path = segment_path(&self.dir, id);
            match fs::remove_file(&path) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => return Err(self.io_err("cannot delete", &path, e)),
            }
            state.segments.remove(&id);
        }
        Ok(())
    }
}

/// Reads a segment's valid frames; returns them, the length of the valid prefix
/// and the file's length.
fn scan_segment(path: &Path, id: u64) -> io::Result<(Vec<RecordRef>, u64, u64)> {
    let mut bytes = Vec::new();
    File::open(path)?.read_to_end(&mut bytes)?;
    let file_len = bytes.len() as u64;
    let mut records = Vec::new();
    let mut offset = 0usize;
    let mut expected_seq: Option<u64> = None;
    while bytes.len() - offset >= HEADER {
        let field = |at: usize, n: usize| &bytes[offset + at..offset + at + n];
        let len = u32::from_le_bytes(field(0, 4).try_into().unwrap_or([0; 4]));
        let crc = u32::from_le_bytes(field(4, 4).try_into().unwrap_or([0; 4]));
        let seq = u64::from_le_bytes(field(8, 8).try_into().unwrap_or([0; 8]));
        let end = offset + HEADER + len as usize;
        if len > MAX_PAYLOAD || end > bytes.len() {
            break;
        }
        if checksum(seq, &bytes[offset + HEADER..end]) != crc
            || seq < id
            || expected_seq.is_some_and(|e| e != seq)
        {
            break;
        }
        records.push(RecordRef {
            seq,
            segment: id,
            offset: offset as u64,
            len,
        });
        expected_seq = Some(seq + 1);
        offset = end;
    }
    Ok((records, offset as u64, file_len))
}

fn write_atomically(dir: &Path, name: &str, contents: &[u8]) -> io::Result<()> {
    let tmp = dir.join(format!("{name}.tmp"));
    {
        let mut file = File::create(&tmp)?;
        file.write_all(contents)?;
        file.sync_all()?;
    }
    fs::rename(&tmp, dir.join(name))?;
    sync_dir(dir)
}

fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!(
            "hermes-outbox-{name}-{}-{:?}",
            std::process::id(),
            std::time::SystemTime::now()
        ));
        let _ = fs::remove_dir_all(&d);
        d
    }

    const ROOMY: OutboxLimits = OutboxLimits {
        max_bytes: 1 << 30,
        max_records: 1 << 20,
    };

    fn payloads(outbox: &Outbox) -> Vec<String> {
        outbox
            .peek(usize::MAX)
            .unwrap()
            .into_iter()
            .map(|(_, p)| String::from_utf8(p).unwrap())
            .collect()
    }

    #[test]
    fn records_survive_a_reopen_in_order_until_acknowledged() {
        let d = dir("reopen");
        let (outbox, rec) = Outbox::open("t", &d, ROOMY).unwrap();
        assert_eq!(rec, Recovery::default());
        let seqs: Vec<u64> = ["a", "b", "c"]
            .iter()
            .map(|p| outbox.append(p.as_bytes()).unwrap())
            .collect();
        assert_eq!(seqs, [1, 2, 3]);
        outbox.ack_through(1).unwrap();
        drop(outbox);

        let (outbox, rec) = Outbox::open("t", &d, ROOMY).unwrap();
        assert_eq!(rec.pending, 2);
        assert_eq!(payloads(&outbox), ["b", "c"]);
        assert_eq!(outbox.append(b"d").unwrap(), 4, "seqs keep increasing");
        outbox.ack_through(4).unwrap();
        assert_eq!(outbox.depth(), Depth::default());
        drop(outbox);
        let (outbox, rec) = Outbox::open("t", &d, ROOMY).unwrap();
        assert_eq!(rec.pending, 0);
        assert!(payloads(&outbox).is_empty());
    }

    #[test]
    fn a_torn_last_record_is_dropped_and_the_rest_kept() {
        let d = dir("torn");
        let (outbox, _) = Outbox::open("t", &d, ROOMY).unwrap();
        outbox.append(b"first").unwrap();
        outbox.append(b"second").unwrap();
        let seg = outbox.lock().active_id;
        drop(outbox);
        // Simulate a crash mid-write: a frame header and half its payload.
        let path = segment_path(&d, seg);
        let mut file = OpenOptions::new().append(true).open(&path).unwrap();
        let payload = b"third, never acknowledged";
        file.write_all(&(payload.len() as u32).to_le_bytes())
            .unwrap();
        file.write_all(&checksum(3, payload).to_le_bytes()).unwrap();
        file.write_all(&3u64.to_le_bytes()).unwrap();
        file.write_all(&payload[..5]).unwrap();
        drop(file);

        let (outbox, rec) = Outbox::open("t", &d, ROOMY).unwrap();
        assert_eq!(rec.pending, 2);
        assert_eq!(rec.truncated_bytes, 16 + 5);
        assert_eq!(payloads(&outbox), ["first", "second"]);
        assert_eq!(outbox.append(b"third").unwrap(), 3);
        drop(outbox);
        let (outbox, rec) = Outbox::open("t", &d, ROOMY).unwrap();
        assert_eq!(rec.truncated_bytes, 0);
        assert_eq!(payloads(&outbox), ["first", "second", "third"]);
    }

    #[test]
    fn a_corrupt_record_ends_the_segment() {
        let d = dir("corrupt");
        let (outbox, _) = Outbox::open("t", &d, ROOMY).unwrap();
        outbox.append(b"good").unwrap();
        outbox.append(b"flipped").unwrap();
        let seg = outbox.lock().active_id;
        drop(outbox);
        let path = segment_path(&d, seg);
        let mut bytes = fs::read(&path).unwrap();
        let last = bytes.len() - 1;
        bytes[last] ^= 0xff;
        fs::write(&path, bytes).unwrap();
        let (outbox, rec) = Outbox::open("t", &d, ROOMY).unwrap();
        assert_eq!(payloads(&outbox), ["good"]);
        assert_eq!(rec.truncated_bytes, 16 + 7);
    }

    #[test]
    fn full_outbox_refuses_instead_of_dropping() {
        let d = dir("full");
        let limits = OutboxLimits {
            max_bytes: 1 << 20,
            max_records: 2,
        };
        let (outbox, _) = Outbox::open("t", &d, limits).unwrap();
        outbox.append(b"1").unwrap();
        outbox.check_room().unwrap();
        outbox.append(b"2").unwrap();
        assert!(matches!(
            outbox.check_room(),
            Err(OutboxError::Full { records: 2, .. })
        ));
        let err = outbox.append(b"3").unwrap_err();
        assert!(matches!(err, OutboxError::Full { records: 2, .. }), "{err}");
        assert!(err.to_string().contains("full"));
        outbox.ack_through(1).unwrap();
        outbox.check_room().unwrap();
        outbox.append(b"3").unwrap();
        assert_eq!(payloads(&outbox), ["2", "3"]);

        let d = dir("full-bytes");
        let limits = OutboxLimits {
            max_bytes: 2 * (16 + 10),
            max_records: 100,
        };
        let (outbox, _) = Outbox::open("t", &d, limits).unwrap();
        outbox.append([0; 10]).unwrap();
        outbox.append([0; 10]).unwrap();
        assert!(matches!(
            outbox.append([0; 1]),
            Err(OutboxError::Full { .. })
        ));
        assert_eq!(
            outbox.depth(),
            Depth {
                records: 2,
                bytes: 52
            }
        );
    }

    #[test]
    fn acknowledged_segments_are_deleted() {
        let d = dir("compact");
        let (outbox, _) = Outbox::open("t", &d, ROOMY).unwrap();
        outbox.append(b"x").unwrap();
        outbox.append(b"y").unwrap();
        drop(outbox);
        // Reopening starts a new segment; the old one holds x and y.
        let (outbox, _) = Outbox::open("t", &d, ROOMY).unwrap();
        outbox.append(b"z").unwrap();
        let count = || {
            fs::read_dir(&d)
                .unwrap()
                .filter(|e| {
                    e.as_ref()
                        .unwrap()
                        .file_name()
                        .to_string_lossy()
                        .starts_with("seg-")
                })
                .count()
        };
        assert_eq!(count(), 2);
        outbox.ack_through(2).unwrap();
        assert_eq!(count(), 1, "the segment of x and y is gone");
        assert_eq!(payloads(&outbox), ["z"]);
    }

    #[test]
    fn many_records_roundtrip_in_batches() {
        let d = dir("batches");
        let (outbox, _) = Outbox::open("t", &d, ROOMY).unwrap();
        for i in 0..250 {
            outbox.append(format!("r{i}").as_bytes()).unwrap();
        }
        let mut seen = Vec::new();
        loop {
            let batch = outbox.peek(64).unwrap();
            let Some(&(last, _)) = batch.last() else {
                break;
            };
            seen.extend(
                batch
                    .into_iter()
                    .map(|(_, p)| String::from_utf8(p).unwrap()),
            );
            outbox.ack_through(last).unwrap();
        }
        let expected: Vec<String> = (0..250).map(|i| format!("r{i}")).collect();
        assert_eq!(seen, expected);
    }

    #[test]
    fn concurrent_appends_each_get_their_own_seq_and_all_survive_a_reopen() {
        let d = dir("concurrent");
        let (outbox, _) = Outbox::open("t", &d, ROOMY).unwrap();
        let outbox = std::sync::Arc::new(outbox);
        let threads: Vec<_> = (0..8)
            .map(|t| {
                let outbox = std::sync::Arc::clone(&outbox);
                std::thread::spawn(move || {
                    (0..40)
                        .map(|i| {
                            let seq = outbox.append(format!("t{t}-{i}").as_bytes()).unwrap();
                            (seq, format!("t{t}-{i}"))
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        let mut appended: Vec<(u64, String)> = threads
            .into_iter()
            .flat_map(|t| t.join().unwrap())
            .collect();
        appended.sort();
        let seqs: Vec<u64> = appended.iter().map(|(s, _)| *s).collect();
        assert_eq!(
            seqs,
            (1..=320).collect::<Vec<u64>>(),
            "distinct, gapless seqs"
        );
        drop(outbox);
        let (reopened, recovery) = Outbox::open("t", &d, ROOMY).unwrap();
        assert_eq!(recovery.pending, 320);
        let read: Vec<(u64, String)> = reopened
            .peek(1000)
            .unwrap()
            .into_iter()
            .map(|(s, p)| (s, String::from_utf8(p).unwrap()))
            .collect();
        assert_eq!(
            read, appended,
            "each record under the seq its append returned"
        );
    }

    #[test]
    fn a_full_outbox_refuses_only_the_records_of_a_batch_that_do_not_fit() {
        let d = dir("batch-full");
        let limits = OutboxLimits {
            max_bytes: 1 << 20,
            max_records: 2,
        };
        let (outbox, _) = Outbox::open("t", &d, limits).unwrap();
        let results = outbox.append_batch(vec![b"a".to_vec(), b"b".to_vec(), b"c".to_vec()]);
        assert!(
            matches!(results[..], [Ok(1), Ok(2), Err(OutboxError::Full { .. })]),
            "{results:?}"
        );
        assert_eq!(payloads(&outbox), ["a", "b"]);
    }
}
