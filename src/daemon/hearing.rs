//! What the mailbox said, recorded: each message read is classified by the rules of
//! `core::inbound`, what it means for an interview is stored with the folder's cursor in one
//! step, and the user hears of each reply once. A message of ours seen in a folder settles a
//! send that was uncertain: it did go out. A delivery report that says an address does not
//! exist marks it undeliverable, as a refusal at SMTP time does; one that says the send bounced
//! for another reason is told once; the rest of what comes back is recorded only.

use std::collections::BTreeMap;
use std::path::Path;

use chrono::{DateTime, Utc};

use super::DaemonError;
use super::round::Round;
use crate::core::heard::{Heard, HeardRecord, ReportOutcome};
use crate::core::inbound::{
    self, Context, DeliveryReport, InboundMessage, OpenInterview, OurSend, Verdict,
};
use crate::core::{EmailAddress, MessageId, SendState, Status};
use crate::delivery::Transport;
use crate::delivery::queue::Folder;
use crate::fsutil::Existing;
use crate::mail::message::Outgoing;
use crate::mailbox::seen::{FOLDERS_SEEN, FoldersSeen};
use crate::mailbox::{Batch, CopyError, ImapError, MailboxEvent};
use crate::store::SendRecord;

/// Meta names of the mailbox's health, for `followup status`.
pub const SYNCED_AT: &str = "mailbox.synced_at";
pub const MAILBOX_ERROR: &str = "mailbox.error";
/// The folder [`MAILBOX_ERROR`] is about when only that folder is the problem (it does not
/// exist), else empty: reading another folder does not end it.
const MAILBOX_ERROR_FOLDER: &str = "mailbox.error_folder";
pub const COPY_ERROR: &str = "mailbox.copy_error";

/// The name the Sent-copy task's problems are logged under.
const SENT_COPIES: &str = "Sent copies";

/// How much of a message's own text the state keeps, and a notice quotes.
const FIRST_LINES: usize = 6;
const FIRST_LINES_CHARS: usize = 600;

impl<T: Transport> Round<'_, T> {
    /// Records one piece of news from the mailbox.
    pub(super) async fn hear(&self, event: MailboxEvent) -> Result<(), DaemonError> {
        let store = self.live.store.as_ref();
        match event {
            MailboxEvent::Read(batch) => {
                self.folder_read(&batch.folder)?;
                self.read(batch).await
            }
            MailboxEvent::Folders(folders) => self.folders_listed(folders),
            MailboxEvent::Unreadable { folder, error } => {
                if let ImapError::NoFolder { existing, .. } = &error {
                    self.folders_listed(existing.clone())?;
                }
                let advice = match &error {
                    e if e.is_auth_failure() => {
                        "check imap.username and the password (`followup check-imap`)"
                    }
                    ImapError::NoFolder { .. } => {
                        "name a folder `followup check-imap` lists in the `imap` section \
                         (or create the folder)"
                    }
                    e if e.is_transient() => {
                        "it is tried again, and replies are noticed once it answers"
                    }
                    _ => "check the `imap` settings with `followup check-imap`",
                };
                let reason = error.to_string();
                let problem = format!("cannot read {folder}: {reason}; {advice}");
                if self.problem_log().failing(&folder, error.kind(), self.now) {
                    tracing::warn!("{problem}");
                }
                if store.meta(MAILBOX_ERROR)?.as_deref() != Some(problem.as_str()) {
                    let only = match &error {
                        ImapError::NoFolder { .. } => folder.as_str(),
                        _ => "",
                    };
                    store.set_meta(MAILBOX_ERROR, &problem)?;
                    store.set_meta(MAILBOX_ERROR_FOLDER, only)?;
                }
                Ok(())
            }
            MailboxEvent::Copied { file } => {
                tracing::debug!(file = %file.display(), "a copy is in the Sent folder");
                if self.problem_log().recovered(SENT_COPIES) {
                    tracing::info!("copies are filed in Sent again");
                }
                if store.meta(COPY_ERROR)?.is_some_and(|e| !e.is_empty()) {
                    store.set_meta(COPY_ERROR, "")?;
                }
                Ok(())
            }
            MailboxEvent::CopyFailed { file, error } => {
                if let CopyError::Imap(ImapError::NoFolder { existing, .. }) = &error {
                    self.folders_listed(existing.clone())?;
                }
                let reason = error.to_string();
                let problem = match &error {
                    CopyError::Imap(_) => format!(
                        "cannot put {} in Sent: {reason}; {}",
                        file.display(),
                        error.advice()
                    ),
                    _ => format!("{reason}; {}", error.advice()),
                };
                if self
                    .problem_log()
                    .failing(SENT_COPIES, error.kind(), self.now)
                {
                    tracing::warn!("{problem}");
                }
                if store.meta(COPY_ERROR)?.as_deref() != Some(problem.as_str()) {
                    store.set_meta(COPY_ERROR, &problem)?;
                }
                Ok(())
            }
        }
    }

    /// Keeps the folders the server listed, with when, for `validate` (see
    /// [`crate::mailbox::seen`]). An empty list is the listing that failed: nothing is kept.
    fn folders_listed(&self, folders: Vec<String>) -> Result<(), DaemonError> {
        if folders.is_empty() {
            return Ok(());
        }
        let seen = FoldersSeen {
            at: self.now,
            folders,
        };
        self.live.store.set_meta(FOLDERS_SEEN, &seen.to_meta())?;
        Ok(())
    }

    /// A folder that could be read exists, whatever an older listing said (it was created
    /// since): adds it to the folders seen, so `validate` does not say it is missing.
    fn folder_read(&self, folder: &str) -> Result<(), DaemonError> {
        let store = self.live.store.as_ref();
        let Some(mut seen) = store
            .meta(FOLDERS_SEEN)?
            .as_deref()
            .and_then(FoldersSeen::from_meta)
        else {
            return Ok(());
        };
        if seen.add(folder) {
            store.set_meta(FOLDERS_SEEN, &seen.to_meta())?;
        }
        Ok(())
    }

    pub(super) fn problem_log(&self) -> std::sync::MutexGuard<'_, crate::retry::ProblemLog> {
        self.live
            .problem_log
            .lock()
            .unwrap_or_else(|e| e.into_inner())
    }

    /// Classifies a folder's messages, records what they mean with the cursor after them, and
    /// tells the user of every new reply.
    async fn read(&self, batch: Batch) -> Result<(), DaemonError> {
        let store = self.live.store.as_ref();
        let sends = store.all()?;
        let ours = our_ids(&sends);
        let me = self.ws.config.owner.addresses();
        let domains: Vec<Vec<String>> = self
            .ws
            .interviews
            .iter()
            .map(inbound::company_domains)
            .collect();
        let no_ids = Vec::new();
        let open: Vec<OpenInterview> = self
            .ws
            .interviews
            .iter()
            .zip(&domains)
            .filter(|(iv, _)| iv.status == Status::Waiting)
            .map(|(iv, domains)| OpenInterview {
                interview: iv,
                our_ids: ours.get(iv.id.as_str()).unwrap_or(&no_ids),
                domains,
            })
            .collect();
        let sent = our_sends(&sends);
        let ctx = Context {
            me: &me,
            open: &open,
            sent: &sent,
        };
        let mut heard = Vec::new();
        for fetched in &batch.messages {
            let message = fetched.parse();
            let received = fetched
                .internal_date
                .map(|d| d.with_timezone(&Utc))
                .unwrap_or(self.now);
            if let Some(id) = &message.message_id
                && let Some(send) = sends.iter().find(|r| r.message_id.as_ref() == Some(id))
            {
                self.settle(send, &batch.folder).await?;
                continue;
            }
            if self.answered_digest(&message, &batch.folder).await? {
                continue;
            }
            let verdict = inbound::classify(&message, &ctx, received);
            if let Verdict::DeliveryReport(report) = &verdict {
                // A report about the user's other mail is no news of ours (`replies` lists it).
                if report.concerns_us() {
                    tracing::info!(folder = %batch.folder, uid = fetched.uid, "{verdict}");
                } else {
                    tracing::debug!(folder = %batch.folder, uid = fetched.uid, "{verdict}");
                }
                self.mark_dead(report)?;
            }
            let identity = match &message.message_id {
                Some(id) => id.to_string(),
                None => format!(
                    "{}:{}:{}",
                    batch.folder, batch.cursor.uid_validity, fetched.uid
                ),
            };
            heard.extend(records(&message, verdict, &identity, received));
        }
        let added = store.record_heard(&batch.folder, batch.cursor, &heard)?;
        store.set_meta(SYNCED_AT, &self.now.to_rfc3339())?;
        // A folder that does not exist stays a problem while other folders are read.
        let only = store.meta(MAILBOX_ERROR_FOLDER)?.unwrap_or_default();
        if store.meta(MAILBOX_ERROR)?.is_some_and(|e| !e.is_empty())
            && (only.is_empty() || only == batch.folder)
        {
            tracing::info!(folder = %batch.folder, "the mailbox answers again");
            store.set_meta(MAILBOX_ERROR, "")?;
            store.set_meta(MAILBOX_ERROR_FOLDER, "")?;
        }
        self.problem_log().recovered(&batch.folder);
        for record in &added {
            self.tell(record).await;
        }
        Ok(())
    }

    /// The addresses a delivery report says do not exist become undeliverable, exactly as a
    /// refusal at SMTP time makes them (the round's notice asks for a better one). Before the
    /// report is recorded: reading it again after a crash marks nothing twice.
    fn mark_dead(&self, report: &DeliveryReport) -> Result<(), DaemonError> {
        let store = self.live.store.as_ref();
        for r in &report.recipients {
            if r.outcome != inbound::Outcome::Undeliverable {
                continue;
            }
            let Some(address) = r.ours.as_deref().and_then(|a| EmailAddress::parse(a).ok()) else {
                continue;
            };
            let reason = r.reason();
            if store.mark_undeliverable(&address, self.now, &reason)? {
                tracing::warn!(to = %address, "undeliverable, by a delivery report: {reason}");
            }
        }
        Ok(())
    }

    /// Keeps the exact bytes just sent for the Sent folder, when copies go there. A copy that
    /// cannot be kept is logged: the message went out, which is what matters.
    pub(super) fn keep_copy(&self, key: &crate::core::SendKey, message: &Outgoing, raw: &[u8]) {
        if !self.live.reading.as_ref().is_some_and(|r| r.save_copies) {
            return;
        }
        let dir = copies_dir(&self.ws.config.state_dir);
        let name: String = message
            .message_id
            .as_str()
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | '@'))
            .collect();
        let kept = crate::fsutil::create_private_dir(&dir).and_then(|()| {
            crate::fsutil::write_atomic(&dir, &format!("{name}.eml"), raw, Existing::Replace)
        });
        if let Err(e) = kept {
            send_event!(warn, key, "sent, but no copy for the Sent folder: {e}");
        }
    }

    /// A send we were not sure of was seen in the mailbox: it went out.
    async fn settle(&self, send: &SendRecord, folder: &str) -> Result<(), DaemonError> {
        if send.state != SendState::Uncertain {
            return Ok(());
        }
        let mut sent = send.clone();
        sent.state = SendState::Sent;
        sent.sent_at = Some(send.reserved_at.max(send.updated_at));
        sent.updated_at = self.now;
        sent.note = Some(format!("found in {folder}: it went out"));
        if !self.transition(&send.key, SendState::Uncertain, &sent)? {
            return Ok(());
        }
        send_event!(info, send.key, folder = %folder, "settled: the uncertain send was found in the mailbox");
        // Its decision file is moot: file it with what was sent.
        if let Some(entry) = self
            .live
            .queue
            .find_in(&[Folder::Pending, Folder::Approved], &send.key.to_string())?
        {
            let text = send.rendered.as_deref().unwrap_or_default();
            self.live.queue.mark_sent(&entry, text)?;
        }
        let subject = format!(
            "followup: {} to {} did go out",
            send.key.step.in_words(),
            send.to.as_deref().unwrap_or("them")
        );
        let body = format!(
            "The {} for {} was not known to have been delivered when the connection broke. \
             A copy of it is in your {folder} folder, so it did go out; it waits for \
             nothing any more and will not be sent again.\n",
            send.key.step.in_words(),
            send.key.interview
        );
        self.send_notice(subject, body).await;
        Ok(())
    }

    /// One notice per reply: who answered, its first lines, what happens now, and how to undo.
    async fn tell(&self, record: &HeardRecord) {
        let iv = self.ws.interview(&record.interview);
        let about = iv
            .map(|iv| format!("{} at {}", iv.position, iv.company))
            .unwrap_or_else(|| record.interview.clone());
        let (subject, what) = match &record.heard {
            Heard::Reply {
                from,
                rejection: None,
                ..
            } => (
                format!("followup: {} answered about {about}", name_of(from)),
                format!(
                    "{from} answered about {about}; the follow-ups stopped. If they gave a new \
                     date, add `decision_by:` to the record and one more check is planned from it."
                ),
            ),
            Heard::Reply {
                from,
                rejection: Some(phrase),
                ..
            } => (
                format!("followup: {} answered about {about}", name_of(from)),
                format!(
                    "{from} answered about {about}, and it reads as a rejection (\"{phrase}\"). \
                     The follow-ups stopped; a short, gracious note in reply is planned \
                     (`followup plan` shows when)."
                ),
            ),
            Heard::OutOfOffice { from, until, .. } => {
                tracing::info!(interview = %record.interview, "{from} is away until {until}: their next step waits");
                return;
            }
            Heard::FollowUp { interviewer } => {
                tracing::info!(interview = %record.interview, "your own message to {interviewer} counts as a follow-up");
                return;
            }
            Heard::Report {
                outcome: ReportOutcome::Bounced,
                recipient,
                reason,
                ..
            } if !record.interview.is_empty() => {
                let subject = format!("followup: mail to {recipient} about {about} bounced");
                let body = format!(
                    "The mail server sent back a message to {recipient} about {about}. It \
                     said:\n\n  {reason}\n\nThe address stays as it is: the server refused this \
                     message, not the address. `followup status` shows the bounce; whether to \
                     write again is yours to decide.\n"
                );
                self.send_notice(subject, body).await;
                return;
            }
            // A report tied to nothing of ours is about the user's other mail: no news.
            Heard::Report {
                outcome, recipient, ..
            } if record.interview.is_empty() => {
                tracing::debug!("{recipient}: {}", outcome.in_words());
                return;
            }
            Heard::Report {
                outcome, recipient, ..
            } => {
                tracing::info!(interview = %record.interview, "{recipient}: {}", outcome.in_words());
                return;
            }
        };
        let body = format!(
            "{what}\n\nSubject: {}\n\n{}\n\nWrong? `followup resume {}` undoes it.\n",
            record.subject,
            quoted(&record.first_lines),
            record.interview
        );
        self.send_notice(subject, body).await;
    }
}

/// The Message-IDs of what we sent (or queued) for each interview: what a reply threads under.
fn our_ids(sends: &[SendRecord]) -> BTreeMap<&str, Vec<MessageId>> {
    let mut out: BTreeMap<&str, Vec<MessageId>> = BTreeMap::new();
    for send in sends {
        if let Some(id) = &send.message_id {
            out.entry(send.key.interview.as_str())
                .or_default()
                .push(id.clone());
        }
    }
    out
}

/// Our sends as a delivery report is tied to them: every one with a recipient, with when it
/// went out (or was last tried).
fn our_sends(sends: &[SendRecord]) -> Vec<OurSend> {
    sends
        .iter()
        .filter_map(|send| {
            Some(OurSend {
                interview: send.key.interview.clone(),
                message_id: send.message_id.clone(),
                to: send.to.as_deref()?.trim().to_lowercase(),
                at: send.sent_at.unwrap_or(send.updated_at),
            })
        })
        .collect()
}

/// What one message means for each interview it concerns, as the state keeps it.
fn records(
    message: &InboundMessage,
    verdict: Verdict,
    identity: &str,
    received: DateTime<Utc>,
) -> Vec<HeardRecord> {
    let at = message
        .date
        .map(|d| d.with_timezone(&Utc))
        .unwrap_or(received);
    let from = message
        .from
        .as_ref()
        .map(|p| match &p.name {
            Some(name) => format!("{name} <{}>", p.address),
            None => p.address.clone(),
        })
        .unwrap_or_else(|| "someone".into());
    let (interviews, heard) = match verdict {
        Verdict::Reply {
            interviews,
            rule,
            rejection,
        } => (
            interviews,
            Heard::Reply {
                from,
                rule: rule.to_string(),
                rejection: rejection.map(String::from),
                message_id: message.message_id.clone(),
            },
        ),
        Verdict::OutOfOffice {
            interviews,
            interviewer,
            return_date,
            until,
            ..
        } => (
            interviews,
            Heard::OutOfOffice {
                interviewer,
                from,
                return_date,
                until,
            },
        ),
        Verdict::ManualFollowUp {
            interviews,
            interviewer,
        } => (interviews, Heard::FollowUp { interviewer }),
        Verdict::DeliveryReport(report) => {
            return report_records(message, report, identity, at, &from);
        }
        Verdict::ReadReceipt { interviews } => (
            interviews,
            Heard::Report {
                from,
                outcome: ReportOutcome::ReadReceipt,
                recipient: String::new(),
                code: None,
                reason: String::new(),
                rule: String::new(),
            },
        ),
        Verdict::Nothing(_) => return Vec::new(),
    };
    let first_lines = first_lines(&message.text);
    interviews
        .into_iter()
        .map(|interview| HeardRecord {
            interview,
            message: identity.to_string(),
            at,
            subject: message.subject.clone(),
            first_lines: first_lines.clone(),
            heard: heard.clone(),
            dismissed: false,
        })
        .collect()
}

/// A delivery report as the state keeps it: one record per recipient and interview it concerns;
/// one under no interview (`""`) for a recipient tied to nothing of ours, shown by `replies`.
fn report_records(
    message: &InboundMessage,
    report: DeliveryReport,
    identity: &str,
    at: DateTime<Utc>,
    from: &str,
) -> Vec<HeardRecord> {
    let many = report.recipients.len() > 1;
    let first_lines = first_lines(&message.text);
    let mut out = Vec::new();
    for r in report.recipients {
        let identity = if many {
            format!("{identity}#{}", r.address)
        } else {
            identity.to_string()
        };
        let heard = Heard::Report {
            from: from.to_string(),
            outcome: r.outcome.into(),
            recipient: r.ours.clone().unwrap_or_else(|| r.address.clone()),
            code: r.status.map(|s| s.to_string()),
            reason: r.reason(),
            rule: r.tie.as_ref().map(ToString::to_string).unwrap_or_default(),
        };
        let interviews = if r.interviews.is_empty() {
            vec![String::new()]
        } else {
            r.interviews
        };
        for interview in interviews {
            out.push(HeardRecord {
                interview,
                message: identity.clone(),
                at,
                subject: message.subject.clone(),
                first_lines: first_lines.clone(),
                heard: heard.clone(),
                dismissed: false,
            });
        }
    }
    out
}

/// The first lines of a message's own text (quoted replies cut off), for people to read.
fn first_lines(text: &str) -> String {
    let own = inbound::own_text(text);
    let lines: Vec<&str> = own
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .take(FIRST_LINES)
        .collect();
    let joined = lines.join("\n");
    match joined.char_indices().nth(FIRST_LINES_CHARS) {
        Some((cut, _)) => format!("{}…", &joined[..cut]),
        None => joined,
    }
}

/// `Jane Roe <jane@...>` → `Jane Roe`.
fn name_of(from: &str) -> &str {
    from.split_once(" <").map_or(from, |(name, _)| name)
}

fn quoted(text: &str) -> String {
    text.lines()
        .map(|l| format!("> {l}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Where the copies of sent messages wait for the Sent folder.
pub fn copies_dir(state_dir: &Path) -> std::path::PathBuf {
    state_dir.join(crate::mailbox::SENT_COPIES_DIR)
}

/// Each folder's cursor as the state keeps it, for the folders `reading` watches (and Sent).
pub fn cursors(
    store: &dyn crate::store::Store,
    reading: &crate::mailbox::Reading,
) -> Result<BTreeMap<String, crate::mailbox::Cursor>, DaemonError> {
    let mut out = BTreeMap::new();
    let folders = reading.folders.iter().chain(&reading.sent);
    for folder in folders.chain(std::iter::once(&"Sent".to_string())) {
        if let Some(cursor) = store.cursor(folder)? {
            out.insert(folder.clone(), cursor);
        }
    }
    Ok(out)
}

/// A folder read for the first time is read from the day the earliest interview still open
/// began (today, when none is).
pub fn read_since(ws: &crate::workspace::Workspace, now: DateTime<Utc>) -> chrono::NaiveDate {
    ws.interviews
        .iter()
        .filter(|iv| iv.status == Status::Waiting)
        .map(|iv| iv.local_start.date())
        .min()
        .unwrap_or_else(|| now.date_naive())
}
