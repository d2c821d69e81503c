//! Reading a message as a recipient would, with mail-parser: each header as written (unfolded)
//! for what must be on the wire, and decoded (RFC 2047 words, quoted-printable, base64, MIME
//! parts) for what a reader sees.

use mail_parser::{Header, Message, MessageParser, MessagePart};

/// One message, as received by the test server or delivered to a Maildir.
pub struct Mail {
    /// The envelope recipients (empty for a file).
    pub rcpt: Vec<String>,
    /// The message as received.
    pub raw: String,
    message: Message<'static>,
}

impl Mail {
    pub fn parse(rcpt: Vec<String>, bytes: &[u8]) -> Mail {
        let message = MessageParser::default()
            .parse(bytes)
            .unwrap_or_else(|| panic!("not a message:\n{}", String::from_utf8_lossy(bytes)))
            .into_owned();
        Mail {
            rcpt,
            raw: String::from_utf8_lossy(bytes).into_owned(),
            message,
        }
    }

    /// Every value of the top-level header `name`, as written but unfolded.
    pub fn all(&self, name: &str) -> Vec<String> {
        raw_values(&self.message, self.message.headers(), name)
    }

    /// The first value of the header `name`, as written but unfolded.
    pub fn header(&self, name: &str) -> Option<String> {
        self.all(name).into_iter().next()
    }

    /// The one header called `name`; fails the test if there are none or several.
    #[track_caller]
    pub fn one(&self, name: &str) -> String {
        let all = self.all(name);
        assert_eq!(all.len(), 1, "{name} headers: {all:?} in\n{}", self.raw);
        all.into_iter().next().unwrap_or_default()
    }

    /// The one envelope recipient; fails the test if there are several.
    #[track_caller]
    pub fn to(&self) -> &str {
        assert_eq!(
            self.rcpt.len(),
            1,
            "one recipient per message: {:?}",
            self.rcpt
        );
        &self.rcpt[0]
    }

    /// The subject, decoded.
    pub fn subject(&self) -> String {
        self.message.subject().unwrap_or_default().to_owned()
    }

    /// The first mailbox of an address header, decoded: `Name <address>`, or `address`.
    pub fn mailbox(&self, name: &str) -> String {
        let addr = self
            .message
            .header(name)
            .and_then(|v| v.as_address())
            .and_then(|a| a.first())
            .unwrap_or_else(|| panic!("no {name} address in\n{}", self.raw));
        let address = addr.address().unwrap_or_default();
        match addr.name() {
            Some(n) => format!("{n} <{address}>"),
            None => address.to_owned(),
        }
    }

    /// The text a reader sees: every text part, decoded, joined.
    pub fn text(&self) -> String {
        self.message
            .text_bodies()
            .filter_map(|p| p.text_contents())
            .collect()
    }

    /// The parts of a multipart message, in order (none for a single-part one).
    pub fn parts(&self) -> Vec<Part<'_>> {
        let ids = self.message.root_part().sub_parts().unwrap_or_default();
        ids.iter()
            .filter_map(|&id| self.message.part(id))
            .map(|part| Part { mail: self, part })
            .collect()
    }
}

/// One MIME part of a [`Mail`].
pub struct Part<'a> {
    mail: &'a Mail,
    part: &'a MessagePart<'static>,
}

impl Part<'_> {
    /// The part's header `name`, as written but unfolded.
    pub fn header(&self, name: &str) -> Option<String> {
        raw_values(&self.mail.message, self.part.headers(), name)
            .into_iter()
            .next()
    }

    /// The content with its transfer encoding undone.
    pub fn bytes(&self) -> &[u8] {
        self.part.contents()
    }
}

/// The values of the headers called `name` among `headers`, unfolded: each line break and the
/// white space after it become one space.
fn raw_values(message: &Message, headers: &[Header], name: &str) -> Vec<String> {
    let raw = message.raw_message();
    headers
        .iter()
        .filter(|h| h.name().eq_ignore_ascii_case(name))
        .map(|h| {
            let value = &raw[h.offset_start() as usize..h.offset_end() as usize];
            let value = String::from_utf8_lossy(value);
            let mut lines = value.lines();
            let mut unfolded = lines.next().unwrap_or_default().to_owned();
            for line in lines {
                unfolded.push(' ');
                unfolded.push_str(line.trim_start());
            }
            unfolded.trim().to_owned()
        })
        .collect()
}
