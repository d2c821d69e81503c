//! Just enough MIME decoding for tests to read what a server received: RFC 2047 words,
//! base64 and quoted-printable.

/// Decodes the RFC 2047 words (`=?utf-8?b?...?=`, `=?utf-8?q?...?=`) of a header value; the
/// whitespace between two adjacent words goes, as the RFC says.
pub fn decode_words(value: &str) -> String {
    let mut out = String::new();
    let mut rest = value;
    let mut after_word = false;
    while let Some(start) = rest.find("=?") {
        let word = rest[start + 2..].splitn(3, '?').collect::<Vec<_>>();
        let decoded = match word.as_slice() {
            [charset, encoding, tail] if charset.eq_ignore_ascii_case("utf-8") => {
                tail.find("?=").and_then(|end| {
                    let text = &tail[..end];
                    let bytes = match encoding.to_ascii_lowercase().as_str() {
                        "b" => base64(text)?,
                        "q" => quoted_printable(&text.replace('_', " ")),
                        _ => return None,
                    };
                    let len = start + 2 + charset.len() + encoding.len() + 2 + end + 2;
                    Some((String::from_utf8(bytes).ok()?, len))
                })
            }
            _ => None,
        };
        let Some((text, len)) = decoded else {
            out.push_str(&rest[..start + 2]);
            rest = &rest[start + 2..];
            after_word = false;
            continue;
        };
        let between = &rest[..start];
        if !(after_word && between.trim().is_empty()) {
            out.push_str(between);
        }
        out.push_str(&text);
        rest = &rest[len..];
        after_word = true;
    }
    out.push_str(rest);
    out
}

pub fn base64(text: &str) -> Option<Vec<u8>> {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = Vec::new();
    let (mut acc, mut bits) = (0u32, 0u32);
    for c in text
        .bytes()
        .filter(|c| !c.is_ascii_whitespace() && *c != b'=')
    {
        let v = ALPHABET.iter().position(|&a| a == c)? as u32;
        acc = (acc << 6) | v;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    Some(out)
}

pub fn quoted_printable(text: &str) -> Vec<u8> {
    let text = text.replace("=\r\n", "").replace("=\n", "");
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'=', Some(b)) => {
                out.push(b);
                i += 3;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    out
}
