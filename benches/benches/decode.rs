//! Decode-side costs of the hot path: frame parse, hex calldata, Router02 decode, raw-tx
//! re-encode, the bundle's relay auth signature, and the hot-signed `backrunRoute` transaction.

use std::hint::black_box;

use alloy_primitives::{Address, U256};
use criterion::{Criterion, criterion_group, criterion_main};
use kestrel_benches::pending_swap_frame;
use kestrel_dex::router::decode_router02;
use kestrel_fire::bundle::{BundleWriter, FlashbotsAuth};
use kestrel_fire::executor::{HopKind, RouteHop};
use kestrel_fire::{LocalSigner, PresigPool, RouteCall, RouteTxBuilder, RouteTxParams};
use kestrel_wire::{Frame, decode_hex_into, encode_signed_tx, parse_frame};

fn decode(c: &mut Criterion) {
    let (router, weth, token) = (
        Address::repeat_byte(0xaa),
        Address::repeat_byte(0xbb),
        Address::repeat_byte(0xcc),
    );
    let frame = pending_swap_frame(router, weth, token);
    let bytes = frame.as_bytes();
    c.bench_function("wire/parse_frame (pending swap)", |b| {
        b.iter(|| parse_frame(black_box(bytes)).is_ok())
    });
    let Ok(Frame::PendingTx { tx, .. }) = parse_frame(bytes) else {
        panic!("fixture frame must parse")
    };
    let mut calldata = vec![0u8; 4096];
    c.bench_function("wire/decode_hex_into (calldata)", |b| {
        b.iter(|| decode_hex_into(black_box(tx.input_hex), &mut calldata).ok())
    });
    let n = decode_hex_into(tx.input_hex, &mut calldata).expect("hex");
    c.bench_function("dex/decode_router02 (swapExactETHForTokens)", |b| {
        b.iter(|| decode_router02(black_box(&calldata[..n]), U256::from(1)).is_ok())
    });
    let mut raw = Vec::with_capacity(8192);
    c.bench_function("wire/encode_signed_tx (type 2)", |b| {
        b.iter(|| {
            raw.clear();
            encode_signed_tx(black_box(&tx), &mut raw).ok()
        })
    });
    let auth = FlashbotsAuth::from_hex(
        "0x4242424242424242424242424242424242424242424242424242424242424242",
    )
    .expect("key");
    let mut writer = BundleWriter::with_capacity(16 * 1024);
    let backrun = vec![0x02u8; 300];
    c.bench_function("fire/send_bundle body (2 txs)", |b| {
        b.iter(|| writer.send_bundle(black_box(&[&raw, &backrun]), 100).len())
    });
    let body = writer.send_bundle(&[&raw, &backrun], 100).to_vec();
    let mut out = [0u8; 200];
    // What the header's digest costs by itself: keccak256 over the whole body.
    c.bench_function("fire/keccak256 of the bundle body", |b| {
        b.iter(|| alloy_primitives::keccak256(black_box(&body)))
    });
    c.bench_function("fire/sign_header (X-Flashbots-Signature)", |b| {
        b.iter(|| auth.sign_header(black_box(&body), &mut out).len())
    });
    // The hot path's variant: the nonce's scalar multiplication was paid off-lane (setup, not timed).
    c.bench_function("fire/sign_header_presigned (X-Flashbots-Signature)", |b| {
        b.iter_custom(|iters| {
            // Untimed: one fresh nonce per iteration, as the refill thread provides them.
            let pool = PresigPool::with_capacity(usize::try_from(iters).unwrap_or(1));
            pool.refill().expect("os randomness");
            let start = std::time::Instant::now();
            for _ in 0..iters {
                black_box(
                    auth.sign_header_presigned(black_box(&body), &pool, &mut out)
                        .len(),
                );
            }
            let elapsed = start.elapsed();
            assert_eq!(
                pool.fallbacks(),
                0,
                "ran out of nonces: a full signature was timed"
            );
            elapsed
        })
    });
}

/// A V2/V3/V2 `backrunRoute` transaction signed on the hot thread (`RouteTxBuilder::build`):
/// calldata, RLP, two keccak256 and the signature, with a presigned nonce and without one.
fn route_tx(c: &mut Criterion) {
    let signer =
        LocalSigner::from_hex("0x4343434343434343434343434343434343434343434343434343434343434343")
            .expect("key");
    let p = RouteTxParams {
        chain_id: 1,
        nonce: 1_234,
        max_fee_per_gas: 40_000_000_000,
        max_priority_fee_per_gas: 1_500_000_000,
        gas_limit: 420_000,
        executor: Address::repeat_byte(0xee),
    };
    let hop = |byte, kind, zero_for_one| RouteHop {
        pool: Address::repeat_byte(byte),
        kind,
        zero_for_one,
    };
    let route = [
        hop(0x11, HopKind::V2 { fee_num: 997 }, true),
        hop(0x22, HopKind::V3, false),
        hop(0x33, HopKind::V2 { fee_num: 997 }, false),
    ];
    let call = RouteCall {
        route: &route,
        amount_in: U256::from(3_000_000_000_000_000_000u128),
        min_profit: U256::from(10_000_000_000_000u64),
        payment_bps: 9_000,
    };
    let mut builder = RouteTxBuilder::new();
    c.bench_function("fire/route_tx build (3 hops, presigned)", |b| {
        b.iter_custom(|iters| {
            // Untimed: one fresh nonce per iteration, as the refill thread provides them.
            let pool = PresigPool::with_capacity(usize::try_from(iters).unwrap_or(1));
            pool.refill().expect("os randomness");
            let start = std::time::Instant::now();
            for _ in 0..iters {
                let tx = builder.build(&p, black_box(&call), &signer, &pool);
                black_box(tx.map(|tx| tx.hash)).expect("route tx");
            }
            let elapsed = start.elapsed();
            assert_eq!(
                pool.fallbacks(),
                0,
                "ran out of nonces: a full signature was timed"
            );
            elapsed
        })
    });
    // The empty-pool fallback: a full RFC 6979 signature on the hot thread.
    let empty = PresigPool::with_capacity(1);
    c.bench_function("fire/route_tx build (3 hops, full signature)", |b| {
        b.iter(|| {
            let tx = builder.build(&p, black_box(&call), &signer, &empty);
            black_box(tx.map(|tx| tx.hash)).expect("route tx")
        })
    });
}

/// What TLS adds to an https relay's write on the hot thread: sealing the request (head and a
/// ~1.9 kB two-transaction bundle body) into TLS 1.3 records with the session's key
/// (`kestrel_fire::tls::TlsWriter::seal`), after a real handshake with a loopback rustls
/// server (the suite it picks: AES-256-GCM). The socket write is not timed.
fn tls_seal(c: &mut Criterion) {
    use std::io::Read as _;
    kestrel_testkit::tls::trust_test_ca();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    // Serves handshakes until the process ends (detached).
    std::thread::spawn(move || {
        for sock in listener.incoming().flatten() {
            let config = kestrel_testkit::tls::server_config();
            std::thread::spawn(move || {
                let conn = rustls::ServerConnection::new(config).expect("server");
                let mut tls = rustls::StreamOwned::new(conn, sock);
                // Completes the handshake, then waits for the client to go.
                let _ = tls.read(&mut [0u8; 1]);
            });
        }
    });
    let session = || {
        let mut sock = std::net::TcpStream::connect(addr).expect("connect");
        let (writer, _reader) =
            kestrel_fire::tls::client_handshake(&mut sock, "localhost", 64 * 1024)
                .expect("handshake");
        (sock, writer)
    };
    let mut current = session();
    let head = vec![b'h'; 260];
    let body = vec![b'{'; 1_900];
    c.bench_function(
        "fire/tls seal (request head + 1.9 kB bundle, TLS 1.3)",
        |b| {
            b.iter_custom(|iters| {
                // Untimed: a fresh session when this run could reach the key's record limit.
                if current.1.records_sealed() + iters > 1 << 23 {
                    current = session();
                }
                let start = std::time::Instant::now();
                for _ in 0..iters {
                    black_box(current.1.seal(black_box(&[&head, &body])).map(<[u8]>::len))
                        .expect("seal");
                }
                start.elapsed()
            })
        },
    );
}

criterion_group!(benches, decode, route_tx, tls_seal);
criterion_main!(benches);
