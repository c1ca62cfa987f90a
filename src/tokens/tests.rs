use serde_json::json;

use super::image::{Base64, Bytes, data_url_size, high_detail_tokens, image_size};
use super::*;

/// The cookbook's example (OpenAI's "How to count tokens with tiktoken"),
/// whose prompt_tokens the API reported as 129 for gpt-3.5-turbo and gpt-4
/// and 124 for gpt-4o and gpt-4o-mini.
fn cookbook_messages() -> Value {
    json!({"messages": [
        {"role": "system", "content": "You are a helpful, pattern-following assistant that translates corporate jargon into plain English."},
        {"role": "system", "name": "example_user", "content": "New synergies will help drive top-line growth."},
        {"role": "system", "name": "example_assistant", "content": "Things working well together will increase revenue."},
        {"role": "system", "name": "example_user", "content": "Let's circle back when we have more bandwidth to touch base on opportunities for increased leverage."},
        {"role": "system", "name": "example_assistant", "content": "Let's talk later when we're less busy about how to do better."},
        {"role": "user", "content": "This late pivot means we don't have time to boil the ocean for the client deliverable."},
    ]})
}

/// Test-only encoder, to build `data:` URLs from hand-made headers.
fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |acc, (i, &b)| acc | u32::from(b) << (16 - 8 * i));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[(n >> (18 - 6 * i) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn data_url(mime: &str, bytes: &[u8]) -> String {
    format!("data:{mime};base64,{}", base64(bytes))
}

fn png(width: u32, height: u32) -> Vec<u8> {
    let mut b = b"\x89PNG\r\n\x1a\n\x00\x00\x00\x0dIHDR".to_vec();
    b.extend(width.to_be_bytes());
    b.extend(height.to_be_bytes());
    b.extend([8, 6, 0, 0, 0, 0, 0, 0, 0]);
    b
}

fn gif(width: u16, height: u16) -> Vec<u8> {
    let mut b = b"GIF89a".to_vec();
    b.extend(width.to_le_bytes());
    b.extend(height.to_le_bytes());
    b.extend([0, 0, 0]);
    b
}

fn webp(chunk: &[u8; 4], payload: &[u8]) -> Vec<u8> {
    let mut b = b"RIFF\x00\x00\x00\x00WEBP".to_vec();
    b.extend(chunk);
    b.extend(u32::try_from(payload.len()).unwrap().to_le_bytes());
    b.extend(payload);
    b
}

/// A JPEG with a large APP1 (Exif-like) segment before a progressive SOF2.
fn jpeg(width: u16, height: u16) -> Vec<u8> {
    let mut b = vec![0xFF, 0xD8];
    b.extend([0xFF, 0xE0, 0x00, 0x10]);
    b.extend(b"JFIF\0\x01\x01\0\0\x01\0\x01\0\0");
    let app1_len: u16 = 40_000;
    b.extend([0xFF, 0xE1]);
    b.extend(app1_len.to_be_bytes());
    b.extend(vec![0xAB; usize::from(app1_len) - 2]);
    b.extend([0xFF, 0xFF, 0xDB, 0x00, 0x04, 0x00, 0x00]);
    b.extend([0xFF, 0xC2, 0x00, 0x11, 0x08]);
    b.extend(height.to_be_bytes());
    b.extend(width.to_be_bytes());
    b.extend([0x03, 1, 0x22, 0, 2, 0x11, 1, 3, 0x11, 1]);
    b.extend([0xFF, 0xDA]);
    b
}

#[test]
fn hello_world_is_two_tokens_in_both_encodings() {
    assert_eq!(count_text_tokens("gpt-4", "hello world"), 2);
    assert_eq!(count_text_tokens("gpt-4o", "hello world"), 2);
    assert_eq!(count_text_tokens("gpt-4", ""), 0);
    // The cookbook's example split: t|ik|token| is| great|!
    assert_eq!(count_text_tokens("gpt-3.5-turbo", "tiktoken is great!"), 6);
}

#[test]
fn special_token_text_counts_as_plain_text() {
    assert!(count_text_tokens("gpt-4o", "<|endoftext|>") > 1);
}

#[test]
fn cookbook_example_matches_the_api_figures() {
    let body = cookbook_messages();
    assert_eq!(estimate_prompt_tokens("gpt-4", &body), 129);
    assert_eq!(estimate_prompt_tokens("gpt-3.5-turbo", &body), 129);
    assert_eq!(estimate_prompt_tokens("gpt-4o", &body), 124);
    assert_eq!(estimate_prompt_tokens("gpt-4o-mini", &body), 124);
}

#[test]
fn models_pick_their_encoding() {
    for model in [
        "gpt-4o",
        "gpt-4o-mini-2024-07-18",
        "gpt-4.1-nano",
        "gpt-5",
        "gpt-5.1-chat-latest",
        "o1",
        "o3-mini",
        "o4-mini",
        "chatgpt-4o-latest",
        "openai/gpt-4o",
        "ft:gpt-4o-mini:org::abc",
        "GPT-4O",
        "gpt-oss-20b",
    ] {
        assert_eq!(encoding_for(model), Encoding::O200k, "{model}");
    }
    for model in [
        "gpt-4",
        "gpt-4-turbo",
        "gpt-3.5-turbo",
        "claude-sonnet-4",
        "llama-3.1-70b",
        "o100",
        "",
    ] {
        assert_eq!(encoding_for(model), Encoding::Cl100k, "{model}");
    }
}

#[test]
fn name_and_role_and_priming_are_counted() {
    let plain = json!({"messages": [{"role": "user", "content": "hello world"}]});
    // 3 framing + 1 ("user") + 2 ("hello world") + 3 priming.
    assert_eq!(estimate_prompt_tokens("gpt-4o", &plain), 9);
    let named = json!({"messages": [{"role": "user", "name": "bob", "content": "hello world"}]});
    let name = count_text_tokens("gpt-4o", "bob");
    assert_eq!(estimate_prompt_tokens("gpt-4o", &named), 9 + name + 1);
}

#[test]
fn bodies_without_messages_count_nothing() {
    assert_eq!(estimate_prompt_tokens("gpt-4o", &json!({})), 0);
    assert_eq!(
        estimate_prompt_tokens("gpt-4o", &json!({"messages": "x"})),
        0
    );
    assert_eq!(estimate_prompt_tokens("gpt-4o", &json!(null)), 0);
}

#[test]
fn array_content_counts_text_parts_and_images() {
    let body = json!({"messages": [{"role": "user", "content": [
        {"type": "text", "text": "hello world"},
        {"type": "image_url", "image_url": {"url": "https://example.com/cat.png", "detail": "low"}},
        {"type": "image_url", "image_url": {"url": "https://example.com/dog.png"}},
        {"type": "input_audio", "input_audio": {"data": "AAAA", "format": "wav"}},
    ]}]});
    // 3 + 1 (user) + 2 (text) + 85 (low) + 765 (assumed 1024²) + 0 (audio) + 3.
    assert_eq!(
        estimate_prompt_tokens("gpt-4o", &body),
        3 + 1 + 2 + 85 + 765 + 3
    );
}

#[test]
fn tools_and_tool_calls_count_as_json_text() {
    let tools = json!([{"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object"}}}]);
    let calls = json!([{"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": "{}"}}]);
    let body = json!({
        "messages": [
            {"role": "assistant", "content": null, "tool_calls": calls},
            {"role": "tool", "tool_call_id": "call_1", "content": "sunny"},
        ],
        "tools": tools,
    });
    let t = |s: &str| count_text_tokens("gpt-4o", s);
    let expected = 3
        + t("assistant")
        + t(&calls.to_string())
        + 3
        + t("tool")
        + t("call_1")
        + t("sunny")
        + 3
        + t(&tools.to_string());
    assert_eq!(estimate_prompt_tokens("gpt-4o", &body), expected);
}

#[test]
fn image_rule_figures() {
    assert_eq!(
        image::image_tokens(&json!({"url": "x", "detail": "low"})),
        85
    );
    assert_eq!(high_detail_tokens(1024, 1024), 765);
    assert_eq!(high_detail_tokens(2048, 4096), 1105);
    // Small images are never scaled up: one tile.
    assert_eq!(high_detail_tokens(512, 512), 255);
    assert_eq!(high_detail_tokens(100, 30), 255);
    // 4096×8192 fits to 1024×2048, then 768×1536: 2×3 tiles.
    assert_eq!(high_detail_tokens(4096, 8192), 1105);
    assert_eq!(
        image::image_tokens(&json!("https://example.com/a.png")),
        765
    );
    assert_eq!(
        image::image_tokens(&json!({"url": "https://x/a.png", "detail": "high"})),
        765
    );
}

#[test]
fn image_size_from_data_url_headers() {
    assert_eq!(
        data_url_size(&data_url("image/png", &png(640, 480))),
        Some((640, 480))
    );
    assert_eq!(
        data_url_size(&data_url("image/gif", &gif(300, 200))),
        Some((300, 200))
    );
    assert_eq!(
        data_url_size(&data_url("image/jpeg", &jpeg(4000, 3000))),
        Some((4000, 3000))
    );

    let lossy = [
        &[0x30, 0x01, 0x00][..],
        &[0x9D, 0x01, 0x2A],
        &800u16.to_le_bytes(),
        &600u16.to_le_bytes(),
    ]
    .concat();
    assert_eq!(
        data_url_size(&data_url("image/webp", &webp(b"VP8 ", &lossy))),
        Some((800, 600))
    );
    let bits: u32 = (1920 - 1) | (1080 - 1) << 14;
    let lossless = [&[0x2F][..], &bits.to_le_bytes()].concat();
    assert_eq!(
        data_url_size(&data_url("image/webp", &webp(b"VP8L", &lossless))),
        Some((1920, 1080))
    );
    let extended = [
        &[0x10, 0, 0, 0][..],
        &[0x3F, 0x1F, 0x00],
        &[0xFF, 0x0F, 0x00],
    ]
    .concat();
    assert_eq!(
        data_url_size(&data_url("image/webp", &webp(b"VP8X", &extended))),
        Some((8000, 4096))
    );
}

#[test]
fn unreadable_images_are_assumed_1024_square() {
    for url in [
        "data:image/png;base64,not*base64",
        "data:image/png,rawbytes",
        "data:image/png;base64,",
        "https://example.com/a.jpg",
    ] {
        assert_eq!(data_url_size(url), None, "{url}");
        assert_eq!(image::image_tokens(&json!({"url": url})), 765, "{url}");
    }
    let truncated = data_url("image/jpeg", &jpeg(10, 10)[..300]);
    assert_eq!(data_url_size(&truncated), None);
    assert_eq!(image_size(&png(0, 10)[..]), None);
}

#[test]
fn a_big_jpeg_in_a_data_url_is_costed_by_its_size() {
    let body = json!({"messages": [{"role": "user", "content": [
        {"type": "image_url", "image_url": {"url": data_url("image/jpeg", &jpeg(4000, 3000)), "detail": "auto"}},
    ]}]});
    // 4000×3000 → 2048×1536 → 1024×768: 2×2 tiles = 765.
    assert_eq!(estimate_prompt_tokens("gpt-4o", &body), 3 + 1 + 765 + 3);
}

#[test]
fn base64_reads_any_byte_range() {
    let text = base64(b"hello world");
    let b64 = Base64(text.as_bytes());
    assert_eq!(b64.read(0, 11), b"hello world");
    assert_eq!(b64.read(4, 3), b"o w");
    assert_eq!(b64.read(9, 10), b"ld");
    assert_eq!(b64.read(20, 2), b"");
    let url_safe = Base64(b"-_-_");
    assert_eq!(url_safe.read(0, 3), [0xFB, 0xFF, 0xBF]);
}

/// Timing figures, not a check: run with
/// `cargo test --release --lib tokens::tests::timing -- --ignored --nocapture`.
#[test]
#[ignore = "prints timings"]
fn timing() {
    let started = std::time::Instant::now();
    bpe(Encoding::Cl100k);
    let cl100k = started.elapsed();
    let started = std::time::Instant::now();
    bpe(Encoding::O200k);
    let o200k = started.elapsed();
    let prose = "The quick brown fox jumps over the lazy dog, again and again. ".repeat(200);
    let body = json!({"messages": [{"role": "user", "content": &prose[..10_240]}]});
    let started = std::time::Instant::now();
    let tokens = estimate_prompt_tokens("gpt-4o", &body);
    let estimate = started.elapsed();
    println!(
        "build cl100k {cl100k:?}, o200k {o200k:?}; 10 KB prompt: {tokens} tokens in {estimate:?}"
    );
}
