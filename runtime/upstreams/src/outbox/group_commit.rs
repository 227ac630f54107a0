//! Group commit: concurrent callers hand their item to whichever of them leads; the
//! leader commits everything queued so far in one go (for the outbox: one `fdatasync`
//! for many records instead of one each, which capped appends at one per disk flush)
//! and hands each caller its own result. Blocking: callers are on the blocking pool.

use std::collections::HashMap;
use std::sync::{Condvar, Mutex, MutexGuard};

#[derive(Debug)]
struct Inner<T, R> {
    queue: Vec<(u64, T)>,
    results: HashMap<u64, R>,
    /// A leader's commit is running (it holds every taken item without a result).
    leading: bool,
    next_ticket: u64,
}

#[derive(Debug)]
pub struct GroupCommit<T, R> {
    inner: Mutex<Inner<T, R>>,
    changed: Condvar,
}

impl<T, R> Default for GroupCommit<T, R> {
    fn default() -> Self {
        Self {
            inner: Mutex::new(Inner {
                queue: Vec::new(),
                results: HashMap::new(),
                leading: false,
                next_ticket: 0,
            }),
            changed: Condvar::new(),
        }
    }
}

/// Ends a leader's turn even if its commit panicked: the turn passes on, and the
/// callers whose items it held get `None` instead of waiting forever.
struct Turn<'a, T, R>(&'a GroupCommit<T, R>);

impl<T, R> Drop for Turn<'_, T, R> {
    fn drop(&mut self) {
        let mut inner = self.0.lock();
        inner.leading = false;
        drop(inner);
        self.0.changed.notify_all();
    }
}

impl<T, R> GroupCommit<T, R> {
    fn lock(&self) -> MutexGuard<'_, Inner<T, R>> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Items waiting for the next commit.
    #[cfg(test)]
    fn queued(&self) -> usize {
        self.lock().queue.len()
    }

    /// Commits `item` together with whatever else is queued. `commit` gets the batch in
    /// arrival order and returns one result per item, in the same order. `None` only if
    /// the commit that held the item panicked (or returned too few results).
    pub fn submit(&self, item: T, commit: impl FnOnce(Vec<T>) -> Vec<R>) -> Option<R> {
        let mut inner = self.lock();
        let ticket = inner.next_ticket;
        inner.next_ticket += 1;
        inner.queue.push((ticket, item));
        let mut commit = Some(commit);
        loop {
            if let Some(result) = inner.results.remove(&ticket) {
                return Some(result);
            }
            let queued = inner.queue.iter().any(|(t, _)| *t == ticket);
            if !queued && !inner.leading {
                // Taken by a commit that ended without answering for it.
                return None;
            }
            if !inner.leading && queued {
                let Some(commit) = commit.take() else {
                    // Our own commit ran and did not answer for this item.
                    return None;
                };
                inner.leading = true;
                let batch = std::mem::take(&mut inner.queue);
                let (tickets, items): (Vec<u64>, Vec<T>) = batch.into_iter().unzip();
                drop(inner);
                let turn = Turn(self);
                let results = commit(items);
                let mut guard = self.lock();
                guard.results.extend(tickets.into_iter().zip(results));
                drop(guard);
                drop(turn);
                inner = self.lock();
                continue;
            }
            inner = self.changed.wait(inner).unwrap_or_else(|e| e.into_inner());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::{Duration, Instant};

    #[test]
    fn callers_queued_during_a_commit_share_the_next_one_and_get_their_own_results() {
        let group = Arc::new(GroupCommit::<usize, usize>::default());
        let commits = Arc::new(AtomicUsize::new(0));
        let callers = 16;
        let threads: Vec<_> = (0..callers)
            .map(|i| {
                let (group, commits) = (Arc::clone(&group), Arc::clone(&commits));
                std::thread::spawn(move || {
                    let g = Arc::clone(&group);
                    group.submit(i, move |batch| {
                        // The first commit holds until every other caller is queued
                        // behind it, so the second takes them all at once.
                        if commits.fetch_add(1, Ordering::SeqCst) == 0 {
                            let deadline = Instant::now() + Duration::from_secs(20);
                            while g.queued() < callers - batch.len() && Instant::now() < deadline {
                                std::thread::sleep(Duration::from_millis(1));
                            }
                        }
                        batch.iter().map(|i| i * 10).collect()
                    })
                })
            })
            .collect();
        let results: Vec<Option<usize>> = threads
            .into_iter()
            .map(|t| t.join().unwrap_or(None))
            .collect();
        let want: Vec<Option<usize>> = (0..callers).map(|i| Some(i * 10)).collect();
        assert_eq!(results, want, "each caller gets the result of its own item");
        assert_eq!(commits.load(Ordering::SeqCst), 2, "16 items in two commits");
    }

    #[test]
    fn a_commit_that_panics_fails_its_callers_and_the_next_caller_still_commits() {
        let group = GroupCommit::<u8, u8>::default();
        let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            group.submit(1, |_| panic!("disk on fire"))
        }));
        assert!(panicked.is_err());
        assert_eq!(group.submit(2, |b| b), Some(2));
    }

    #[test]
    fn too_few_results_answer_none_instead_of_hanging() {
        let group = GroupCommit::<u8, u8>::default();
        assert_eq!(group.submit(1, |_| Vec::new()), None);
        assert_eq!(group.submit(2, |b| b), Some(2));
    }
}
