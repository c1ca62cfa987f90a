//! Image tokens by OpenAI's tile rule, with the size read from the header
//! of a `data:` URL.
//!
//! Rule: `detail: low` costs 85. Otherwise the image is scaled to fit in
//! 2048×2048, then so its shortest side is 768 (never up), and each 512-px
//! tile costs 170, plus 85. A remote URL (we never fetch it) or a header we
//! cannot read is taken as 1024×1024 (765 tokens).
//!
//! Only the header is decoded: base64 maps every 4 characters to 3 bytes,
//! so any byte range can be decoded on its own, and a JPEG scan decodes just
//! the 4-byte marker heads it steps over, not the segments between them.
//! Base64 with line breaks inside is not read (the size is assumed).

use serde_json::Value;

/// `detail: low`, and the base every high-detail image pays.
const BASE_TOKENS: u64 = 85;
const TILE_TOKENS: u64 = 170;
const TILE_SIDE: f64 = 512.0;
const MAX_SIDE: f64 = 2048.0;
const SHORT_SIDE: f64 = 768.0;
/// The size assumed when the image's own cannot be read.
const ASSUMED_SIZE: (u32, u32) = (1024, 1024);
/// JPEG marker segments stepped over before giving up: real files put the
/// frame header within a dozen, so this only bounds hostile input.
const MAX_JPEG_SEGMENTS: usize = 256;

/// Tokens of an `image_url` part's value: `{"url": …, "detail": …}` or,
/// as some clients send it, the URL alone.
pub(crate) fn image_tokens(image_url: &Value) -> u64 {
    let (url, detail) = match image_url {
        Value::String(url) => (url.as_str(), None),
        other => (
            other.get("url").and_then(Value::as_str).unwrap_or_default(),
            other.get("detail").and_then(Value::as_str),
        ),
    };
    if detail == Some("low") {
        return BASE_TOKENS;
    }
    let (width, height) = data_url_size(url).unwrap_or(ASSUMED_SIZE);
    high_detail_tokens(width, height)
}

/// Tokens of an image of this size at high (or auto) detail.
pub(super) fn high_detail_tokens(width: u32, height: u32) -> u64 {
    if width == 0 || height == 0 {
        return BASE_TOKENS;
    }
    let (mut w, mut h) = (f64::from(width), f64::from(height));
    let fit = (MAX_SIDE / w.max(h)).min(1.0);
    (w, h) = (w * fit, h * fit);
    let shrink = (SHORT_SIDE / w.min(h)).min(1.0);
    (w, h) = (w * shrink, h * shrink);
    // Both factors are at most ceil(2048 / 512) = 4, so the cast is exact.
    let tiles = ((w / TILE_SIDE).ceil() * (h / TILE_SIDE).ceil()) as u64;
    tiles * TILE_TOKENS + BASE_TOKENS
}

/// Width and height from a base64 `data:` URL's image header.
pub(super) fn data_url_size(url: &str) -> Option<(u32, u32)> {
    let (meta, data) = url.strip_prefix("data:")?.split_once(',')?;
    if !meta.ends_with(";base64") {
        return None;
    }
    image_size(&Base64(data.as_bytes()))
}

/// Random access to the bytes of an image.
pub(super) trait Bytes {
    /// Up to `len` bytes from `offset`; fewer (or none) past the end or on
    /// bad input.
    fn read(&self, offset: usize, len: usize) -> Vec<u8>;
}

impl Bytes for [u8] {
    fn read(&self, offset: usize, len: usize) -> Vec<u8> {
        let end = offset.saturating_add(len).min(self.len());
        self.get(offset..end)
            .map(<[u8]>::to_vec)
            .unwrap_or_default()
    }
}

/// Base64 text (standard or URL-safe alphabet) read as the bytes it encodes.
pub(super) struct Base64<'a>(pub(super) &'a [u8]);

impl Bytes for Base64<'_> {
    fn read(&self, offset: usize, len: usize) -> Vec<u8> {
        let first = offset / 3;
        let last = offset.saturating_add(len).div_ceil(3);
        let start = first.saturating_mul(4);
        let end = last.saturating_mul(4).min(self.0.len());
        let Some(decoded) = self.0.get(start..end).and_then(decode) else {
            return Vec::new();
        };
        decoded.read(offset - first * 3, len)
    }
}

/// Decodes whole base64 quanta (a short or padded last one too).
fn decode(text: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(text.len() / 4 * 3);
    let (mut acc, mut bits) = (0u32, 0u32);
    for &c in text {
        if c == b'=' {
            break;
        }
        acc = (acc << 6) | sextet(c)?;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            // Masking keeps the low byte; the truncation is the point.
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    Some(out)
}

fn sextet(c: u8) -> Option<u32> {
    let value = match c {
        b'A'..=b'Z' => c - b'A',
        b'a'..=b'z' => c - b'a' + 26,
        b'0'..=b'9' => c - b'0' + 52,
        b'+' | b'-' => 62,
        b'/' | b'_' => 63,
        _ => return None,
    };
    Some(u32::from(value))
}

/// Width and height from a PNG, GIF, WebP or JPEG header; `None` for
/// anything else or a zero size.
pub(super) fn image_size(bytes: &(impl Bytes + ?Sized)) -> Option<(u32, u32)> {
    let head = bytes.read(0, 30);
    let size = if head.starts_with(b"\x89PNG\r\n\x1a\n") {
        png(&head)
    } else if head.starts_with(b"GIF87a") || head.starts_with(b"GIF89a") {
        Some((u32::from(le16(&head, 6)?), u32::from(le16(&head, 8)?)))
    } else if head.starts_with(b"RIFF") && head.get(8..12) == Some(b"WEBP") {
        webp(&head)
    } else if head.starts_with(&[0xFF, 0xD8]) {
        jpeg(bytes)
    } else {
        None
    };
    size.filter(|&(w, h)| w > 0 && h > 0)
}

fn png(head: &[u8]) -> Option<(u32, u32)> {
    if head.get(12..16) != Some(b"IHDR") {
        return None;
    }
    Some((be32(head, 16)?, be32(head, 20)?))
}

fn webp(head: &[u8]) -> Option<(u32, u32)> {
    match head.get(12..16)? {
        b"VP8 " => {
            if head.get(23..26) != Some(&[0x9D, 0x01, 0x2A]) {
                return None;
            }
            let w = le16(head, 26)? & 0x3FFF;
            let h = le16(head, 28)? & 0x3FFF;
            Some((u32::from(w), u32::from(h)))
        }
        b"VP8L" => {
            if head.get(20) != Some(&0x2F) {
                return None;
            }
            let bits = u32::from_le_bytes(head.get(21..25)?.try_into().ok()?);
            Some(((bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1))
        }
        b"VP8X" => Some((le24(head, 24)? + 1, le24(head, 27)? + 1)),
        _ => None,
    }
}

/// Steps over marker segments to the first frame header (SOFn).
fn jpeg(bytes: &(impl Bytes + ?Sized)) -> Option<(u32, u32)> {
    let mut pos = 2usize;
    for _ in 0..MAX_JPEG_SEGMENTS {
        let head = bytes.read(pos, 4);
        if head.first() != Some(&0xFF) {
            return None;
        }
        let marker = *head.get(1)?;
        match marker {
            // Fill byte: the marker follows.
            0xFF => pos += 1,
            // Markers without a length.
            0x01 | 0xD0..=0xD7 => pos += 2,
            // Start of scan or end of image before any frame header.
            0xD9 | 0xDA => return None,
            // SOF0–SOF15 except DHT (C4), JPG (C8) and DAC (CC).
            0xC0..=0xCF if !matches!(marker, 0xC4 | 0xC8 | 0xCC) => {
                let frame = bytes.read(pos + 5, 4);
                return Some((u32::from(be16(&frame, 2)?), u32::from(be16(&frame, 0)?)));
            }
            _ => pos = pos.checked_add(2 + usize::from(be16(&head, 2)?))?,
        }
    }
    None
}

fn le16(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes(b.get(at..at + 2)?.try_into().ok()?))
}

fn be16(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes(b.get(at..at + 2)?.try_into().ok()?))
}

fn le24(b: &[u8], at: usize) -> Option<u32> {
    let b = b.get(at..at + 3)?;
    Some(u32::from(b[0]) | u32::from(b[1]) << 8 | u32::from(b[2]) << 16)
}

fn be32(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes(b.get(at..at + 4)?.try_into().ok()?))
}
