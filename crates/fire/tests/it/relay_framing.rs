//! The HTTP/1.1 response framer the relay readers and the exchange lane's order connections
//! share, against hostile peers: sizes that overflow, lines and trailers that never end,
//! heads and chunk framing past their caps. Each must be `Invalid` (the connection is dropped),
//! never a panic and never an `Incomplete` that lets the buffer grow without end.

use kestrel_fire::relay::{Framed, FramingError, ReplyLimits, ResponseFramer};
use proptest::prelude::*;

const CHUNKED_HEAD: &[u8] = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
/// Largest response body the framer accepts (`relay::MAX_BODY_BYTES`).
const MAX_BODY: usize = 4 * 1024 * 1024;

/// The first response framed from `bytes` all at once.
fn frame(bytes: &[u8]) -> Framed {
    let mut framer = ResponseFramer::default();
    framer.push(bytes);
    framer.take()
}

fn chunked(body: &[u8]) -> Vec<u8> {
    [CHUNKED_HEAD, body].concat()
}

#[test]
fn chunk_sizes_that_overflow_or_pass_the_max_body_are_invalid() {
    // The review's case: 1 + usize::MAX overflowed (a panic with overflow checks, a wrapped
    // total and an endless `Incomplete` without).
    assert_eq!(
        frame(
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\na\r\nffffffffffffffff\r\n"
        ),
        Framed::Invalid
    );
    for body in [
        &b"ffffffffffffffff\r\n"[..],
        b"fffffffffffffffe\r\nab",
        b"1\r\na\r\nfffffffffffffff0;ext=1\r\n",
        // More hex digits than a usize holds.
        b"10000000000000000\r\n",
        // One byte over the max body, in one chunk and across two.
        b"400001\r\n",
        b"200000\r\n",
    ] {
        let mut bytes = chunked(body);
        if body == b"200000\r\n" {
            bytes.extend(std::iter::repeat_n(b'x', MAX_BODY / 2));
            bytes.extend_from_slice(b"\r\n200001\r\n");
        }
        assert_eq!(
            frame(&bytes),
            Framed::Invalid,
            "{}",
            String::from_utf8_lossy(body)
        );
    }
}

#[test]
fn a_chunk_size_line_that_never_ends_is_invalid() {
    let mut endless = chunked(b"");
    endless.extend(std::iter::repeat_n(b'f', 64 * 1024));
    assert_eq!(frame(&endless), Framed::Invalid);
    // An extension is part of the line: it counts against the same cap.
    let mut long_ext = chunked(b"5;");
    long_ext.extend(std::iter::repeat_n(b'e', 9 * 1024));
    long_ext.extend_from_slice(b"\r\nhello\r\n0\r\n\r\n");
    assert_eq!(frame(&long_ext), Framed::Invalid);
    // A line under the cap is still waited for.
    let mut short = chunked(b"5;");
    short.extend(std::iter::repeat_n(b'e', 1024));
    assert_eq!(frame(&short), Framed::Incomplete);
}

#[test]
fn a_trailer_section_past_the_cap_is_invalid() {
    let mut endless = chunked(b"5\r\nhello\r\n0\r\nX-T: ");
    endless.extend(std::iter::repeat_n(b't', 64 * 1024));
    assert_eq!(frame(&endless), Framed::Invalid);
    // Many short trailer lines count together.
    let mut many = chunked(b"5\r\nhello\r\n0\r\n");
    for _ in 0..2_000 {
        many.extend_from_slice(b"X-T: 1\r\n");
    }
    many.extend_from_slice(b"\r\n");
    assert_eq!(frame(&many), Framed::Invalid);
    // A few trailers are skipped as before.
    let ok = chunked(b"5\r\nhello\r\n0\r\nX-T: 1\r\nX-U: 2\r\n\r\n");
    assert!(matches!(frame(&ok), Framed::Reply { status: 200, ref body, .. } if body == "hello"));
}

#[test]
fn a_head_past_the_cap_is_invalid_even_once_it_ends() {
    let mut head = b"HTTP/1.1 200 OK\r\nX-Pad: ".to_vec();
    head.extend(std::iter::repeat_n(b'p', 20 * 1024));
    head.extend_from_slice(b"\r\nContent-Length: 2\r\n\r\n{}");
    assert_eq!(frame(&head), Framed::Invalid);
    let mut unfinished = b"HTTP/1.1 200 OK\r\nX-Pad: ".to_vec();
    unfinished.extend(std::iter::repeat_n(b'p', 20 * 1024));
    assert_eq!(frame(&unfinished), Framed::Invalid);
}

#[test]
fn chunk_framing_cannot_keep_a_response_incomplete_without_end() {
    // One data byte per chunk under a long (allowed) extension: the body stays tiny while the
    // encoded stream passes twice the max body. Without the cap this waits for more forever.
    let ext = vec![b'e'; 8_000];
    let mut bytes = chunked(b"");
    while bytes.len() <= 2 * MAX_BODY + 16 * 1024 {
        bytes.extend_from_slice(b"1;");
        bytes.extend_from_slice(&ext);
        bytes.extend_from_slice(b"\r\nx\r\n");
    }
    assert_eq!(frame(&bytes), Framed::Invalid);
}

/// A framer with a 16-byte body cap, `bytes` pushed; its first take, and why if `Invalid`.
fn frame_capped(bytes: &[u8]) -> (Framed<Vec<u8>>, Option<FramingError>) {
    let mut framer = ResponseFramer::with_limits(0, 16);
    framer.push(bytes);
    (framer.take_bytes(), framer.error())
}

#[test]
fn a_framers_own_body_cap_refuses_a_length_or_chunk_as_soon_as_it_is_stated() {
    let over = Some(FramingError::BodyTooLarge { max_bytes: 16 });
    // Stated, with no body byte sent yet.
    assert_eq!(
        frame_capped(b"HTTP/1.1 200 OK\r\nContent-Length: 17\r\n\r\n"),
        (Framed::Invalid, over)
    );
    assert_eq!(frame_capped(&chunked(b"11\r\n")), (Framed::Invalid, over));
    // Across chunks: the second size line takes the total over.
    assert_eq!(
        frame_capped(&chunked(b"8;x=y\r\n01234567\r\n9\r\n")),
        (Framed::Invalid, over)
    );
    // At the cap, both framings are read whole (the chunked one within its encoded cap,
    // twice the body cap).
    let at_cap = [
        b"HTTP/1.1 200 OK\r\nContent-Length: 16\r\n\r\n0123456789abcdef".to_vec(),
        chunked(b"8\r\n01234567\r\n8\r\n89abcdef\r\n0\r\n\r\n"),
    ];
    for bytes in at_cap {
        assert_eq!(
            frame_capped(&bytes),
            (
                Framed::Reply {
                    status: 200,
                    body: b"0123456789abcdef".to_vec(),
                    limits: ReplyLimits::default(),
                },
                None
            )
        );
    }
    // The default framer keeps the relay's 4 MiB cap.
    assert!(matches!(
        frame(b"HTTP/1.1 200 OK\r\nContent-Length: 17\r\n\r\n0123456789abcdefg"),
        Framed::Reply { status: 200, .. }
    ));
}

#[test]
fn an_invalid_stream_says_why() {
    let why = |bytes: &[u8]| {
        let mut framer = ResponseFramer::default();
        framer.push(bytes);
        assert_eq!(framer.take(), Framed::Invalid);
        framer.error().map(|e| e.to_string())
    };
    let mut long_head = b"HTTP/1.1 200 OK\r\nX-Pad: ".to_vec();
    long_head.extend(std::iter::repeat_n(b'p', 17 * 1024));
    let mut long_line = chunked(b"");
    long_line.extend(std::iter::repeat_n(b'f', 9 * 1024));
    for (bytes, expected) in [
        (long_head, "answer head over 16384 bytes"),
        (
            b"HTTP/1.1 200 OK\r\nContent-Length: 4194305\r\n\r\n".to_vec(),
            "answer body over 4194304 bytes",
        ),
        (
            b"HTTP/1.1 200 OK\r\n\r\n".to_vec(),
            "answer with neither Content-Length nor chunked framing",
        ),
        (
            chunked(b"zz\r\n"),
            "bad chunked body: chunk size not a hexadecimal number",
        ),
        (
            long_line,
            "bad chunked body: chunk-size line over 8192 bytes",
        ),
        (
            b"<html>busy</html>\r\n\r\n".to_vec(),
            "answer is not an HTTP/1.x response",
        ),
    ] {
        assert_eq!(why(&bytes).as_deref(), Some(expected));
    }
    // A framer that is not `Invalid` has nothing to say.
    let mut framer = ResponseFramer::default();
    framer.push(b"HTTP/1.1 200 OK\r\n");
    assert_eq!((framer.take(), framer.error()), (Framed::Incomplete, None));
}

#[test]
fn a_close_delimited_answer_ends_at_the_close_under_the_cap() {
    let head = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\r\n";
    let mut framer = ResponseFramer::with_limits(0, 16).close_delimited();
    for piece in [&head[..], b"{\"a\":", b"\xff}"] {
        framer.push(piece);
        assert_eq!(framer.take_bytes(), Framed::Incomplete);
    }
    framer.end_of_stream();
    assert_eq!(
        framer.take_bytes(),
        Framed::Reply {
            status: 200,
            body: b"{\"a\":\xff}".to_vec(),
            limits: ReplyLimits::default(),
        }
    );
    assert_eq!(framer.take_bytes(), Framed::Incomplete, "nothing after it");
    // Refused once it passes the cap, before the close.
    let mut framer = ResponseFramer::with_limits(0, 16).close_delimited();
    framer.push(head);
    framer.push(&[b'x'; 17]);
    assert_eq!(framer.take(), Framed::Invalid);
    assert_eq!(
        framer.error(),
        Some(FramingError::BodyTooLarge { max_bytes: 16 })
    );
    // A 1xx head first is skipped as before.
    let mut framer = ResponseFramer::default().close_delimited();
    framer.push(b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 503 Busy\r\n\r\nlater");
    framer.end_of_stream();
    assert!(matches!(
        framer.take(),
        Framed::Reply { status: 503, ref body, .. } if body == "later"
    ));
    // Without `close_delimited` (a kept-alive stream) such an answer cannot be framed.
    let mut framer = ResponseFramer::default();
    framer.push(head);
    assert_eq!(framer.take(), Framed::Invalid);
    assert_eq!(framer.error(), Some(FramingError::NoLength));
}

#[test]
fn a_close_inside_a_framed_answer_is_a_truncation() {
    for cut in [
        &b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n{\"a\""[..],
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Le",
    ] {
        let mut framer = ResponseFramer::default().close_delimited();
        framer.push(cut);
        assert_eq!(framer.take(), Framed::Incomplete);
        framer.end_of_stream();
        assert_eq!(framer.take(), Framed::Invalid);
        assert_eq!(framer.error(), Some(FramingError::Truncated));
    }
    // A close between answers is no truncation; a cleared framer forgets the close.
    let mut framer = ResponseFramer::default();
    framer.push(b"HTTP/1.1 204 No Content\r\n\r\n");
    framer.end_of_stream();
    assert!(matches!(framer.take(), Framed::Reply { status: 204, .. }));
    assert_eq!(framer.take(), Framed::Incomplete);
    framer.clear();
    framer.push(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n");
    assert_eq!(framer.take(), Framed::Incomplete);
}

/// Feeds `bytes` to a framer `piece` bytes at a time, taking every response after each piece;
/// the responses and how the stream ended (`Incomplete` or `Invalid`), and the framer.
fn feed(bytes: &[u8], piece: usize) -> (Vec<Framed>, Framed, ResponseFramer) {
    let mut framer = ResponseFramer::default();
    let mut replies = Vec::new();
    let mut last = Framed::Incomplete;
    for part in bytes.chunks(piece.max(1)) {
        framer.push(part);
        last = loop {
            match framer.take() {
                reply @ Framed::Reply { .. } => replies.push(reply),
                end => break end,
            }
        };
        if last == Framed::Invalid {
            break;
        }
    }
    (replies, last, framer)
}

/// What a framer makes of `bytes` pushed all at once, as [`feed`] reports it.
fn whole(bytes: &[u8]) -> (Vec<Framed>, Framed) {
    let mut framer = ResponseFramer::default();
    framer.push(bytes);
    let mut replies = Vec::new();
    loop {
        match framer.take() {
            reply @ Framed::Reply { .. } => replies.push(reply),
            end => return (replies, end),
        }
    }
}

#[test]
fn many_tiny_chunks_arriving_a_byte_at_a_time_are_framed_in_linear_work() {
    // 20,000 one-byte chunks (each sent as "1\r\nX\r\n", 6 bytes for 1 of body), a trailer,
    // then a pipelined Content-Length reply: the slow, hostile relay the review described.
    let chunks = 20_000;
    let mut bytes = CHUNKED_HEAD.to_vec();
    let mut body = String::with_capacity(chunks);
    for i in 0..chunks {
        let c = char::from(b'a' + (i % 26) as u8);
        body.push(c);
        bytes.extend_from_slice(format!("1\r\n{c}\r\n").as_bytes());
    }
    bytes.extend_from_slice(b"0\r\nX-T: 1\r\n\r\n");
    bytes.extend_from_slice(
        b"HTTP/1.1 429 Slow Down\r\nRetry-After: 3\r\nContent-Length: 2\r\n\r\n{}",
    );
    let (replies, end, framer) = feed(&bytes, 1);
    assert_eq!(end, Framed::Incomplete);
    assert_eq!(replies.len(), 2);
    assert!(
        matches!(&replies[0], Framed::Reply { status: 200, body: b, .. } if *b == body),
        "the chunked body was not reassembled"
    );
    assert!(matches!(
        &replies[1],
        Framed::Reply { status: 429, body: b, limits, .. }
            if b == "{}" && limits.retry_after_s == Some(3)
    ));
    assert_eq!(framer.buffered(), 0);
    // Framing each read from the start examines the bytes before it again: about
    // 120,000² / 2 bytes here. Resuming examines each byte a bounded number of times.
    let fed = bytes.len() as u64;
    assert!(
        framer.bytes_examined() <= 4 * fed,
        "{} bytes examined for {fed} received",
        framer.bytes_examined()
    );
    // The same bytes in one piece give the same replies.
    assert_eq!(whole(&bytes), (replies, Framed::Incomplete));
}

#[test]
fn a_head_and_long_lines_arriving_a_byte_at_a_time_are_searched_once() {
    // A 15 KiB head (under the 16 KiB cap) and 8,000-byte chunk extensions (under the line cap),
    // a byte at a time: each search goes on from where the last one stopped.
    let mut bytes = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nX-Pad: ".to_vec();
    bytes.extend(std::iter::repeat_n(b'p', 15 * 1024));
    bytes.extend_from_slice(b"\r\n\r\n");
    for _ in 0..4 {
        bytes.extend_from_slice(b"2;");
        bytes.extend(std::iter::repeat_n(b'e', 8_000));
        bytes.extend_from_slice(b"\r\nok\r\n");
    }
    bytes.extend_from_slice(b"0\r\n\r\n");
    let (replies, end, framer) = feed(&bytes, 1);
    assert_eq!(end, Framed::Incomplete);
    assert!(
        matches!(&replies[..], [Framed::Reply { status: 200, body, .. }] if body == "okokokok")
    );
    let fed = bytes.len() as u64;
    assert!(
        framer.bytes_examined() <= 4 * fed,
        "{}",
        framer.bytes_examined()
    );
}

#[test]
fn a_framer_keeps_every_cap_and_stays_invalid() {
    // The caps, crossed a byte at a time: a chunk-size line, a head, a trailer section.
    let mut line = chunked(b"");
    line.extend(std::iter::repeat_n(b'f', 9 * 1024));
    let mut head = b"HTTP/1.1 200 OK\r\nX-Pad: ".to_vec();
    head.extend(std::iter::repeat_n(b'p', 17 * 1024));
    let mut trailers = chunked(b"5\r\nhello\r\n0\r\n");
    for _ in 0..2_000 {
        trailers.extend_from_slice(b"X-T: 1\r\n");
    }
    for bytes in [line, head, trailers] {
        let (replies, end, mut framer) = feed(&bytes, 1);
        assert!(replies.is_empty());
        assert_eq!(end, Framed::Invalid);
        // Nothing after makes the stream usable again, until it is cleared.
        framer.push(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
        assert_eq!(framer.take(), Framed::Invalid);
        framer.clear();
        framer.push(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
        assert!(matches!(framer.take(), Framed::Reply { status: 200, .. }));
    }
}

/// Chunk sizes a hostile peer would pick: small, random, and next to `u64::MAX`.
fn chunk_size() -> impl Strategy<Value = u64> {
    prop_oneof![0..64u64, any::<u64>(), (u64::MAX - 64)..=u64::MAX]
}

/// One chunk as a hostile peer might write it: a size line (maybe with an extension) and
/// data that may or may not match it.
fn hostile_chunk() -> impl Strategy<Value = Vec<u8>> {
    let data = proptest::collection::vec(any::<u8>(), 0..24);
    (chunk_size(), any::<bool>(), data).prop_map(|(size, ext, data)| {
        let ext: &[u8] = if ext { b";a=b" } else { b"" };
        [format!("{size:x}").as_bytes(), ext, b"\r\n", &data, b"\r\n"].concat()
    })
}

/// One well-formed chunk.
fn valid_chunk() -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec(any::<u8>(), 1..24).prop_map(|data| {
        [
            format!("{:x}", data.len()).as_bytes(),
            b"\r\n",
            &data,
            b"\r\n",
        ]
        .concat()
    })
}

/// A chunked body of well-formed and hostile chunks, in any order.
fn chunked_parts() -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec(prop_oneof![valid_chunk(), hostile_chunk()], 0..6)
        .prop_map(|parts| parts.concat())
}

fn any_response() -> impl Strategy<Value = Vec<u8>> {
    let heads = prop::sample::select(vec![
        &b""[..],
        CHUNKED_HEAD,
        b"HTTP/1.1 100 Continue\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: 18446744073709551615\r\n\r\n",
        b"HTTP/1.1 204 No Content\r\n\r\n",
    ]);
    let tail = prop_oneof![
        chunked_parts(),
        proptest::collection::vec(any::<u8>(), 0..256)
    ];
    (heads, tail).prop_map(|(head, tail)| [head, &tail].concat())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]
    /// However a stream is split into reads, the framer frames it as one fed it whole frames
    /// it whole: the same replies, and the same end.
    #[test]
    fn a_framer_fed_in_pieces_frames_as_one_fed_it_whole(
        bytes in any_response(),
        second in prop_oneof![Just(Vec::new()), any_response()],
        piece in 1usize..40,
    ) {
        let bytes = [bytes, second].concat();
        let (replies, end, _) = feed(&bytes, piece);
        prop_assert_eq!((replies, end), whole(&bytes));
    }

    #[test]
    fn framing_never_panics_and_always_makes_progress(bytes in any_response()) {
        let mut framer = ResponseFramer::default();
        framer.push(&bytes);
        // Pipelined replies come off one by one; each takes bytes off the buffer.
        loop {
            let before = framer.buffered();
            match framer.take() {
                Framed::Reply { .. } => prop_assert!(framer.buffered() < before),
                Framed::Incomplete | Framed::Invalid => break,
            }
        }
    }
}
