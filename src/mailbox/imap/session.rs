//! A logged-in IMAP session: LIST, SELECT and EXAMINE, UID SEARCH and FETCH, APPEND, IDLE and
//! LOGOUT, each under a timeout. async-imap has no timeouts of its own, so every call here is
//! wrapped in one, and a command that times out or breaks the connection poisons the
//! [`Session`] (see `settle`): the next call says so at once instead of talking to a half-read
//! stream. Messages are read with `BODY.PEEK` (never setting `\Seen` on the user's mail) and
//! only a prefix of their text, so a 50 MB message costs [`TEXT_PREFIX_BYTES`].

use std::fmt;
use std::time::{Duration, Instant};

use async_imap::types::{Fetch, NameAttribute};
use chrono::{DateTime, FixedOffset, NaiveDate};
use futures_util::TryStreamExt;
use tokio::time::timeout;

use super::connection::{Inner, lost};
use super::{ImapError, Refusal, Timeouts};
use crate::core::MessageId;
use crate::core::inbound::InboundMessage;
use crate::mailbox::inbound;

/// How much of a message's text is fetched: enough for its first lines, whatever its size.
pub const TEXT_PREFIX_BYTES: u32 = 64 * 1024;

/// A folder as LIST reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Folder {
    /// The name as the server spells it (modified UTF-7 for non-ASCII), to pass back as is.
    pub name: String,
    pub delimiter: Option<String>,
    pub sent: bool,
    pub selectable: bool,
}

/// What SELECT or EXAMINE reports of a folder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FolderState {
    /// Changes when the server renumbered the folder: every UID seen before is void.
    pub uid_validity: u32,
    /// The UID the next message will get, when the server says (it should).
    pub uid_next: Option<u32>,
    pub exists: u32,
}

/// A message as fetched: its header whole, its text only up to [`TEXT_PREFIX_BYTES`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fetched {
    pub uid: u32,
    /// RFC822.SIZE: the whole message's size, however little of it was fetched.
    pub size: Option<u32>,
    /// When the server received it.
    pub internal_date: Option<DateTime<FixedOffset>>,
    pub header: Vec<u8>,
    pub text: Vec<u8>,
}

impl Fetched {
    /// Whether the text was cut at the prefix.
    pub fn is_truncated(&self) -> bool {
        self.size
            .is_some_and(|size| size as usize > self.header.len() + self.text.len())
    }

    /// The message as the rules read it.
    pub fn parse(&self) -> InboundMessage {
        inbound::parse_parts(&self.header, &self.text)
    }
}

/// What ended a wait for news.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wake {
    /// The server reported a change (new mail, expunge, flags).
    Changed,
    /// Nothing was heard for `idle_silence`, or IDLE reached `idle_renew`, or a poll interval
    /// passed: look anyway.
    Timeout,
}

/// A logged-in connection.
pub struct Session {
    pub(super) host: String,
    pub(super) timeouts: Timeouts,
    pub(super) idle: bool,
    pub(super) special_use: bool,
    /// `None` once a failure left the stream in an unknown state.
    pub(super) inner: Option<Inner>,
    pub(super) selected: Option<String>,
    /// When a session on an expiring token is to be replaced by a fresh login.
    pub(super) relogin_at: Option<Instant>,
}

impl fmt::Debug for Session {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Session")
            .field("host", &self.host)
            .field("idle", &self.idle)
            .field("open", &self.inner.is_some())
            .field("selected", &self.selected)
            .finish()
    }
}

impl Session {
    /// Whether IDLE is used: the server offers it and the settings allow it (else
    /// [`Session::wait`] polls).
    pub fn has_idle(&self) -> bool {
        self.idle
    }

    /// Whether the connection is still usable.
    pub fn is_open(&self) -> bool {
        self.inner.is_some()
    }

    /// Whether the token this session logged in with is due for a fresh login.
    pub fn needs_relogin(&self) -> bool {
        self.relogin_at.is_some_and(|at| Instant::now() >= at)
    }

    /// How long an IDLE may last: up to `max`, and not past the time to log in again.
    fn idle_limit(&self, max: Duration) -> Duration {
        match self.relogin_at {
            Some(at) => max.min(at.saturating_duration_since(Instant::now())),
            None => max,
        }
    }

    /// The folder SELECTed or EXAMINEd last.
    pub fn selected(&self) -> Option<&str> {
        self.selected.as_deref()
    }

    /// The server's last line, when it refused a command.
    fn refusal(&self) -> Option<Refusal> {
        self.inner.as_ref()?.get_ref().refusal()
    }

    fn live(&mut self) -> Result<&mut Inner, ImapError> {
        self.inner.as_mut().ok_or_else(|| ImapError::Closed {
            host: self.host.clone(),
        })
    }

    /// Turns a timed command's outcome into ours; a timeout or a broken stream closes the
    /// session, a `NO` or `BAD` leaves it usable.
    fn settle<T>(
        &mut self,
        command: &str,
        outcome: Result<Result<T, async_imap::error::Error>, tokio::time::error::Elapsed>,
    ) -> Result<T, ImapError> {
        use async_imap::error::Error as E;
        match outcome {
            Ok(Ok(v)) => Ok(v),
            Ok(Err(e @ (E::No(_) | E::Bad(_) | E::Append))) => match self.refusal() {
                Some(refusal) => Err(ImapError::Refused {
                    host: self.host.clone(),
                    command: command.into(),
                    detail: refusal.to_string(),
                    bad: refusal.bad,
                }),
                // No tagged refusal to read: the connection is in an unknown state.
                None => {
                    self.inner = None;
                    Err(lost(&self.host, command, e))
                }
            },
            Ok(Err(e)) => {
                self.inner = None;
                Err(lost(&self.host, command, e))
            }
            Err(_) => {
                self.inner = None;
                Err(ImapError::Timeout {
                    host: self.host.clone(),
                    what: format!("answer {command}"),
                    after: self.timeouts.command,
                })
            }
        }
    }

    /// Every folder (LIST "" "*"), with the special-use `\Sent` flag where the server gives it.
    pub async fn list_folders(&mut self) -> Result<Vec<Folder>, ImapError> {
        let t = self.timeouts.command;
        // With SPECIAL-USE, ask for the flags explicitly (RFC 6154); otherwise plain LIST.
        let pattern = if self.special_use {
            "\"*\" RETURN (SPECIAL-USE)"
        } else {
            "\"*\""
        };
        let inner = self.live()?;
        let outcome = timeout(t, async {
            let names = inner.list(Some(""), Some(pattern)).await?;
            names.try_collect::<Vec<_>>().await
        })
        .await;
        let names = self.settle("LIST", outcome)?;
        Ok(names
            .iter()
            .map(|n| Folder {
                name: n.name().to_string(),
                delimiter: n.delimiter().map(str::to_string),
                sent: n.attributes().iter().any(|a| match a {
                    NameAttribute::Sent => true,
                    NameAttribute::Extension(x) => x.eq_ignore_ascii_case("\\Sent"),
                    _ => false,
                }),
                selectable: !n.attributes().iter().any(|a| {
                    matches!(a, NameAttribute::NoSelect)
                        || matches!(a, NameAttribute::Extension(x) if x.eq_ignore_ascii_case("\\NonExistent"))
                }),
            })
            .collect())
    }

    /// The folder our messages are filed in: the one flagged `\Sent`, else one named "Sent"
    /// (any case, at any level of the hierarchy), else `None`.
    pub async fn find_sent(&mut self) -> Result<Option<String>, ImapError> {
        Ok(sent_folder(&self.list_folders().await?))
    }

    /// Opens a folder read-write.
    pub async fn select(&mut self, folder: &str) -> Result<FolderState, ImapError> {
        self.open(folder, false).await
    }

    /// Opens a folder read-only: what watching needs, and nothing can change by mistake.
    pub async fn examine(&mut self, folder: &str) -> Result<FolderState, ImapError> {
        self.open(folder, true).await
    }

    async fn open(&mut self, folder: &str, read_only: bool) -> Result<FolderState, ImapError> {
        let t = self.timeouts.command;
        let command = if read_only { "EXAMINE" } else { "SELECT" };
        self.selected = None;
        let inner = self.live()?;
        let outcome = if read_only {
            timeout(t, inner.examine(folder)).await
        } else {
            timeout(t, inner.select(folder)).await
        };
        let mailbox = match self.settle(command, outcome) {
            // A `NO` to opening a folder is about the folder, unless the server says it is
            // busy or down for now.
            Err(ImapError::Refused {
                detail, bad: false, ..
            }) if !self.refusal().is_some_and(|r| r.is_temporary()) => {
                // Which folders there are is what the user needs to fix the name.
                let existing = match self.list_folders().await {
                    Ok(list) => list
                        .into_iter()
                        .filter(|f| f.selectable)
                        .map(|f| f.name)
                        .collect(),
                    Err(_) => Vec::new(),
                };
                return Err(ImapError::NoFolder {
                    folder: folder.into(),
                    detail,
                    existing,
                });
            }
            other => other?,
        };
        let uid_validity = mailbox
            .uid_validity
            .ok_or_else(|| ImapError::NoUidValidity {
                host: self.host.clone(),
                folder: folder.into(),
            })?;
        self.selected = Some(folder.to_string());
        Ok(FolderState {
            uid_validity,
            uid_next: mailbox.uid_next,
            exists: mailbox.exists,
        })
    }

    /// The UIDs above `last_seen` in the selected folder, lowest first.
    pub async fn uids_after(&mut self, last_seen: u32) -> Result<Vec<u32>, ImapError> {
        let Some(from) = last_seen.checked_add(1) else {
            return Ok(Vec::new());
        };
        let mut uids = self.search(&format!("UID {from}:*")).await?;
        // `n:*` includes the highest UID even when it is below n (RFC 3501 6.4.8).
        uids.retain(|&u| u > last_seen);
        Ok(uids)
    }

    /// The UIDs of messages received on or after a day (the server's INTERNALDATE).
    pub async fn uids_since(&mut self, day: NaiveDate) -> Result<Vec<u32>, ImapError> {
        self.search(&format!("SINCE {}", day.format("%-d-%b-%Y")))
            .await
    }

    /// The UIDs in the selected folder whose Message-ID is `id`, checked on the header itself
    /// (the server's HEADER search matches substrings).
    pub async fn find_message_id(&mut self, id: &MessageId) -> Result<Vec<u32>, ImapError> {
        let query = format!("HEADER Message-ID {}", quote(&id.to_string()));
        let candidates = self.search(&query).await?;
        if candidates.is_empty() {
            return Ok(candidates);
        }
        let fetches = self
            .uid_fetch(
                &uid_set(&candidates),
                "(UID BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)])",
            )
            .await?;
        let mut found: Vec<u32> = fetches
            .iter()
            .filter_map(|f| {
                let uid = f.uid?;
                // HEADER.FIELDS comes back as the header section.
                let header = f.header()?;
                (inbound::parse(header).message_id.as_ref() == Some(id)).then_some(uid)
            })
            .collect();
        found.sort_unstable();
        Ok(found)
    }

    async fn search(&mut self, query: &str) -> Result<Vec<u32>, ImapError> {
        let t = self.timeouts.command;
        let inner = self.live()?;
        let outcome = timeout(t, inner.uid_search(query)).await;
        let mut uids: Vec<u32> = self.settle("UID SEARCH", outcome)?.into_iter().collect();
        uids.sort_unstable();
        Ok(uids)
    }

    async fn uid_fetch(&mut self, set: &str, query: &str) -> Result<Vec<Fetch>, ImapError> {
        let t = self.timeouts.command;
        let inner = self.live()?;
        let outcome = timeout(t, async {
            let stream = inner.uid_fetch(set, query).await?;
            stream.try_collect::<Vec<_>>().await
        })
        .await;
        self.settle("UID FETCH", outcome)
    }

    /// Up to `max` messages with a UID above `last_seen`, lowest first: the header, the size
    /// and the first [`TEXT_PREFIX_BYTES`] of the text, all with PEEK (no `\Seen` is set).
    pub async fn fetch_after(
        &mut self,
        last_seen: u32,
        max: usize,
    ) -> Result<Vec<Fetched>, ImapError> {
        let mut uids = self.uids_after(last_seen).await?;
        uids.truncate(max.max(1));
        self.fetch_uids(&uids).await
    }

    /// The given messages, as [`Session::fetch_after`] reads them.
    pub async fn fetch_uids(&mut self, uids: &[u32]) -> Result<Vec<Fetched>, ImapError> {
        if uids.is_empty() {
            return Ok(Vec::new());
        }
        let query = format!(
            "(UID RFC822.SIZE INTERNALDATE BODY.PEEK[HEADER] BODY.PEEK[TEXT]<0.{TEXT_PREFIX_BYTES}>)"
        );
        let fetches = self.uid_fetch(&uid_set(uids), &query).await?;
        let mut out: Vec<Fetched> = fetches
            .iter()
            .filter_map(|f| {
                let uid = f.uid?;
                // Unsolicited FETCH responses (flag changes) come without our sections.
                let header = f.header()?;
                Some(Fetched {
                    uid,
                    size: f.size,
                    internal_date: f.internal_date(),
                    header: header.to_vec(),
                    text: f.text().map(<[u8]>::to_vec).unwrap_or_default(),
                })
            })
            .filter(|f| uids.contains(&f.uid))
            .collect();
        out.sort_by_key(|f| f.uid);
        out.dedup_by_key(|f| f.uid);
        Ok(out)
    }

    /// Files a message in a folder, flagged `\Seen` (the user wrote it; nothing to read).
    pub async fn append(&mut self, folder: &str, message: &[u8]) -> Result<(), ImapError> {
        let t = self.timeouts.command;
        let inner = self.live()?;
        let outcome = timeout(t, inner.append(folder, Some("(\\Seen)"), None, message)).await;
        self.settle("APPEND", outcome)
    }

    /// Files a message unless a message with its Message-ID is already in the folder: the one
    /// way to append that never makes a duplicate. EXAMINEs `folder` (it becomes the selected
    /// one). Returns whether it appended.
    pub async fn append_once(
        &mut self,
        folder: &str,
        id: &MessageId,
        message: &[u8],
    ) -> Result<bool, ImapError> {
        self.examine(folder).await?;
        if !self.find_message_id(id).await?.is_empty() {
            return Ok(false);
        }
        self.append(folder, message).await?;
        Ok(true)
    }

    /// A round trip that proves the connection alive and lets the server report news.
    pub async fn noop(&mut self) -> Result<(), ImapError> {
        let t = self.timeouts.command;
        let inner = self.live()?;
        let outcome = timeout(t, inner.noop()).await;
        self.settle("NOOP", outcome)
    }

    /// Waits for news in the selected folder: IDLE when the server has it (re-issued within
    /// `idle_renew`, ended after `idle_silence` without a word), else `poll`, then a NOOP.
    pub async fn wait(&mut self, poll: Duration) -> Result<Wake, ImapError> {
        if self.idle {
            self.idle(self.idle_limit(self.timeouts.idle_renew)).await
        } else {
            tokio::time::sleep(self.idle_limit(poll)).await;
            self.noop().await?;
            Ok(Wake::Timeout)
        }
    }

    /// IDLE for at most `max` (and at most `idle_renew`): returns at the first change the
    /// server reports, or when it times out. A server that goes silent longer than
    /// `idle_silence`, keep-alives included, is then asked to end IDLE, and a dead connection
    /// shows as an error there.
    pub async fn idle(&mut self, max: Duration) -> Result<Wake, ImapError> {
        if !self.idle {
            return Err(ImapError::NoIdle {
                host: self.host.clone(),
            });
        }
        let t = self.timeouts;
        let inner = self.inner.take().ok_or_else(|| ImapError::Closed {
            host: self.host.clone(),
        })?;
        let mut handle = inner.idle();
        match timeout(t.command, handle.init()).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => return Err(lost(&self.host, "IDLE", e)),
            Err(_) => {
                return Err(ImapError::Timeout {
                    host: self.host.clone(),
                    what: "accept IDLE".into(),
                    after: t.command,
                });
            }
        }
        let heard = {
            let (wait, stop) = handle.wait_with_timeout(t.idle_silence);
            tokio::pin!(wait);
            tokio::select! {
                r = &mut wait => r,
                _ = tokio::time::sleep(max.min(t.idle_renew)) => {
                    // Interrupting ends the wait at once; its result says so.
                    drop(stop);
                    wait.await
                }
            }
        };
        let wake = match heard {
            Ok(async_imap::extensions::idle::IdleResponse::NewData(_)) => Wake::Changed,
            Ok(_) => Wake::Timeout,
            Err(e) => return Err(lost(&self.host, "IDLE", e)),
        };
        match timeout(t.command, handle.done()).await {
            Ok(Ok(inner)) => {
                self.inner = Some(inner);
                Ok(wake)
            }
            Ok(Err(e)) => Err(lost(&self.host, "IDLE (DONE)", e)),
            Err(_) => Err(ImapError::Timeout {
                host: self.host.clone(),
                what: "end IDLE".into(),
                after: t.command,
            }),
        }
    }

    /// Says goodbye. A failure here changes nothing for the caller; it is reported anyway.
    pub async fn logout(mut self) -> Result<(), ImapError> {
        let t = self.timeouts.command;
        let inner = self.live()?;
        let outcome = timeout(t, inner.logout()).await;
        self.settle("LOGOUT", outcome)
    }
}

/// The `\Sent` folder, else one whose last name part is "Sent" (any case).
pub fn sent_folder(folders: &[Folder]) -> Option<String> {
    folders
        .iter()
        .find(|f| f.sent && f.selectable)
        .or_else(|| {
            folders.iter().find(|f| {
                let leaf = match &f.delimiter {
                    Some(d) if !d.is_empty() => f.name.rsplit(d.as_str()).next().unwrap_or(&f.name),
                    _ => f.name.as_str(),
                };
                f.selectable && leaf.eq_ignore_ascii_case("Sent")
            })
        })
        .map(|f| f.name.clone())
}

/// An IMAP quoted string.
fn quote(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

/// `1,2,5` for a UID FETCH.
fn uid_set(uids: &[u32]) -> String {
    uids.iter()
        .map(u32::to_string)
        .collect::<Vec<_>>()
        .join(",")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sent_folder_is_the_special_use_one_else_one_named_sent() {
        let f = |name: &str, sent: bool| Folder {
            name: name.into(),
            delimiter: Some(".".into()),
            sent,
            selectable: true,
        };
        assert_eq!(
            sent_folder(&[f("INBOX", false), f("Sent", false), f("Gesendet", true)]),
            Some("Gesendet".into())
        );
        assert_eq!(
            sent_folder(&[f("INBOX", false), f("INBOX.sent", false)]),
            Some("INBOX.sent".into())
        );
        assert_eq!(
            sent_folder(&[f("INBOX", false), f("Sent Items", false)]),
            None
        );
    }

    #[test]
    fn search_strings_are_quoted() {
        assert_eq!(
            quote(r#"<a"b\c@example.org>"#),
            r#""<a\"b\\c@example.org>""#
        );
        assert_eq!(uid_set(&[3, 5, 9]), "3,5,9");
    }
}
