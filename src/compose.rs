//! From a planned action to the message that would go out: one path for the daemon, `preview`
//! and `simulate`, so what the user previews is what is sent.

use chrono::{DateTime, Utc};

use crate::core::{Channel, Interviewer, SendKey, Step};
use crate::message::{Mailbox, Outgoing};
use crate::render::{RenderContext, RenderError, attachments_for};
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

/// Renders the message for the send `key`. `earlier` holds the Message-IDs and subjects of the
/// messages already sent to the same person for the same interview, oldest first: a follow-up
/// threads under them.
pub fn compose(
    ws: &Workspace,
    key: &SendKey,
    earlier: &[(String, String)],
    now: DateTime<Utc>,
) -> Result<Outgoing, ComposeError> {
    let iv = ws
        .interview(&key.interview)
        .ok_or_else(|| ComposeError::UnknownInterview(key.interview.clone()))?;
    let person: &Interviewer = match key.step {
        Step::Close => iv.primary(),
        _ => iv
            .interviewers
            .iter()
            .find(|p| p.key() == key.recipient)
            .ok_or_else(|| ComposeError::UnknownRecipient {
                interview: iv.id.clone(),
                recipient: key.recipient.clone(),
            })?,
    };
    let owner = &ws.config.owner;
    let draft = ws
        .templates
        .render(key.step, &RenderContext::new(iv, person, owner, key.step))?;
    let from = Mailbox::from(owner);
    let channel = key.step.channel();
    let to = match channel {
        Channel::Email => {
            let address = person
                .email
                .clone()
                .ok_or_else(|| ComposeError::NoAddress(person.name.clone()))?;
            Mailbox::new(&person.name, address)
        }
        Channel::Call | Channel::Notice => from.clone(),
    };
    let message = Outgoing::new(key.clone(), from, to, draft, now)
        .with_attachments(attachments_for(iv, key.step).to_vec());
    Ok(if channel == Channel::Email {
        message.threaded(earlier)
    } else {
        message
    })
}
