//! From a planned action to the message that would go out: one path for the daemon, `preview`
//! and `simulate`, so what the user previews is what is sent.

use chrono::{DateTime, Utc};

use crate::core::heard;
use crate::core::{History, SendKey, ThreadRef};
use crate::mail::message::{Mailbox, Outgoing};
use crate::mail::render::{RenderContext, RenderError};
use crate::workspace::Workspace;

/// Why an action cannot become a message.
#[derive(Debug, thiserror::Error)]
pub enum ComposeError {
    #[error("interview `{0}` is not in the records")]
    UnknownInterview(String),
    #[error("`{recipient}` is not an interviewer of `{interview}`")]
    UnknownRecipient {
        interview: String,
        recipient: String,
    },
    #[error("{0} has no e-mail address")]
    NoAddress(String),
    #[error(transparent)]
    Render(#[from] RenderError),
}

/// Renders the message for the send `key`. `earlier` holds the messages already sent to the
/// same person for the same interview, oldest first: an e-mail follow-up threads under them.
/// `history` says whether the person's address bounced, which the call reminder mentions, and
/// which answer the note after a rejection replies to, when the rejection was heard by mail.
pub fn compose(
    ws: &Workspace,
    key: &SendKey,
    earlier: &[ThreadRef],
    history: &History,
    now: DateTime<Utc>,
) -> Result<Outgoing, ComposeError> {
    let iv = ws
        .interview(&key.interview)
        .ok_or_else(|| ComposeError::UnknownInterview(key.interview.clone()))?;
    let person = key
        .person(iv)
        .ok_or_else(|| ComposeError::UnknownRecipient {
            interview: iv.id.clone(),
            recipient: key.recipient.clone(),
        })?;
    let owner = &ws.config.owner;
    let bounce = person
        .email
        .as_ref()
        .and_then(|e| history.undeliverable.get(&e.key()));
    let context = RenderContext::new(iv, person, owner, key.step).with_bounce(bounce);
    let draft = ws.templates.render(key.step, &context)?;
    let from = Mailbox::from(owner);
    let to_the_user = key.step.channel().goes_to_the_user();
    let to = if to_the_user {
        from.clone()
    } else {
        let address = person
            .email
            .clone()
            .ok_or_else(|| ComposeError::NoAddress(person.name.clone()))?;
        Mailbox::new(&person.name, address)
    };
    let message =
        Outgoing::new(from, to, draft, now).with_attachments(iv.attachments_for(key.step).to_vec());
    if to_the_user {
        return Ok(message);
    }
    match heard::answer_to(iv, key.step, &history.heard) {
        Some(theirs) => {
            let mut thread = earlier.to_vec();
            thread.push(theirs);
            Ok(message.threaded(&thread))
        }
        None => Ok(message.threaded(earlier)),
    }
}
