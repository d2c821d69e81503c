//! The user's decision on one queued message, as `followup queue approve/reject` and a reply to
//! the digest both make it: one function, so both obey the same rules.

use std::path::PathBuf;

use super::{Entry, Folder, QueueDir, QueueError};

/// What the user decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Approve,
    /// Approve, and let it go although past its step's limit (a late thank-you).
    ApproveLate,
    Reject,
}

/// What the decision did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decided {
    /// Moved to `approved/` (`late`: marked to go although late).
    Approved {
        entry: Entry,
        to: PathBuf,
        late: bool,
    },
    /// It was approved already; now it is marked to go although late.
    MarkedLate { entry: Entry },
    /// It was approved already: nothing changed.
    AlreadyApproved { entry: Entry },
    /// Moved to `rejected/`: it is never sent.
    Rejected { entry: Entry, to: PathBuf },
}

impl Decided {
    pub fn entry(&self) -> &Entry {
        match self {
            Decided::Approved { entry, .. }
            | Decided::MarkedLate { entry }
            | Decided::AlreadyApproved { entry }
            | Decided::Rejected { entry, .. } => entry,
        }
    }
}

/// Why a decision could not be made: the message is not waiting any more, or is not there.
#[derive(Debug, thiserror::Error)]
pub enum NotDecided {
    #[error("nothing in the queue matches `{0}`; `followup queue list` shows what is there")]
    NotFound(String),
    #[error("{what} is approved already: it is sent when the daemon runs")]
    Approved { what: String },
    #[error("{what} was sent already ({})", path.display())]
    Sent { what: String, path: PathBuf },
    #[error("{what} was rejected: it is not sent ({})", path.display())]
    Rejected { what: String, path: PathBuf },
    #[error(transparent)]
    Queue(#[from] QueueError),
}

impl QueueDir {
    /// Approves or rejects the message `id` names (a number, a file name, an interview id or a
    /// send key, as [`QueueDir::find`] takes them).
    pub fn decide(&self, id: &str, decision: Decision) -> Result<Decided, NotDecided> {
        match decision {
            Decision::Approve => {
                let Some(entry) = self.find_in(&[Folder::Pending], id)? else {
                    if let Some(entry) = self.find_in(&[Folder::Approved], id)? {
                        return Ok(Decided::AlreadyApproved { entry });
                    }
                    return Err(self.elsewhere(id)?);
                };
                let to = self.approve(&entry.id)?;
                Ok(Decided::Approved {
                    entry,
                    to,
                    late: false,
                })
            }
            Decision::ApproveLate => {
                // Late may also mark a message approved already.
                let Some(entry) = self.find_in(&[Folder::Pending, Folder::Approved], id)? else {
                    return Err(self.elsewhere(id)?);
                };
                if self.approve_late(&entry.id)? == Folder::Approved {
                    return Ok(Decided::MarkedLate { entry });
                }
                let to = self.approve(&entry.id)?;
                Ok(Decided::Approved {
                    entry,
                    to,
                    late: true,
                })
            }
            Decision::Reject => {
                let Some(entry) = self.find_in(&[Folder::Pending, Folder::Approved], id)? else {
                    return Err(self.elsewhere(id)?);
                };
                let to = self.reject(&entry.id)?;
                Ok(Decided::Rejected { entry, to })
            }
        }
    }

    /// Why `id` is not waiting: it was approved, sent or rejected already, or is not there.
    fn elsewhere(&self, id: &str) -> Result<NotDecided, QueueError> {
        let Some(entry) = self.find(id)? else {
            return Ok(NotDecided::NotFound(id.to_string()));
        };
        let what = entry.describe();
        Ok(match entry.folder {
            Folder::Approved => NotDecided::Approved { what },
            Folder::Sent => NotDecided::Sent {
                what,
                path: entry.path,
            },
            _ => NotDecided::Rejected {
                what,
                path: entry.path,
            },
        })
    }
}
