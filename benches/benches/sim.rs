//! revm confirmation of a backrun: the victim (Router02 `swapExactETHForTokens`, 5 ETH into a
//! 100 WETH pool) and then our executor's backrun, simulated on a prefetched snapshot.
//!
//! No node: the Uniswap V2 world (real npm bytecode, our executor) is deployed inside revm with
//! `kestrel_sim::devnet`, and its state, completed for the two transactions the way the slow lane
//! completes a node prefetch, is the snapshot. Run with `cargo bench -p kestrel-benches --bench sim`.

use std::hint::black_box;
use std::sync::Arc;

use alloy::consensus::{SignableTransaction, TxEip1559, TxEnvelope};
use alloy::eips::Encodable2718;
use alloy::network::TxSignerSync;
use alloy::primitives::{Address, B256, Bytes, TxKind, U256, address};
use alloy::signers::local::PrivateKeySigner;
use alloy::sol_types::SolCall;
use criterion::{Criterion, criterion_group, criterion_main};
use kestrel_sandbox::anvil::Anvil;
use kestrel_sandbox::artifacts;
use kestrel_sandbox::deploy::bindings::IUniswapV2Router02;
use kestrel_sim::devnet::LocalChain;
use kestrel_sim::devnet::v2::{V2Bytecode, V2WorldSpec, deploy_v2_world};
use kestrel_sim::{ChainRules, NextBlock, SimTx, Simulator, SnapshotBuilder};

const ETHER: u128 = 1_000_000_000_000_000_000;
const GWEI: u128 = 1_000_000_000;
const COINBASE: Address = address!("00000000000000000000000000000000c0ffee01");

fn signer(index: usize) -> PrivateKeySigner {
    Anvil::dev_key(index).parse().expect("dev key")
}

fn sign(signer: &PrivateKeySigner, to: Address, data: Bytes, value: U256, nonce: u64) -> Bytes {
    let mut tx = TxEip1559 {
        chain_id: kestrel_sim::SEPOLIA_CHAIN_ID,
        nonce,
        gas_limit: 400_000,
        max_fee_per_gas: 3 * GWEI,
        max_priority_fee_per_gas: GWEI,
        to: TxKind::Call(to),
        value,
        access_list: Default::default(),
        input: data,
    };
    let sig = signer.sign_transaction_sync(&mut tx).expect("sign");
    Bytes::from(TxEnvelope::from(tx.into_signed(sig)).encoded_2718())
}

struct Fixture {
    weth: Address,
    executor: Address,
    snapshot: Arc<kestrel_sim::StateSnapshot>,
    block: NextBlock,
    raw: [Bytes; 2],
    txs: [SimTx; 2],
}

fn fixture() -> Fixture {
    let load = |name: &str| artifacts::load(name).expect("npm artifact").bytecode;
    let code = V2Bytecode {
        weth9: load("WETH9"),
        erc20: load("ERC20"),
        factory: load("UniswapV2Factory"),
        router02: load("UniswapV2Router02"),
        executor: artifacts::executor().expect("executor").bytecode,
    };
    let spec = V2WorldSpec {
        tokens: 1,
        factories: 2,
        liquidity_weth: U256::from(100 * ETHER),
        price_skew_bps: 0,
        executor_capital_weth: U256::from(50 * ETHER),
        deployer: signer(0).address(),
        searcher: signer(1).address(),
    };
    let mut chain = LocalChain::new(ChainRules::SEPOLIA_PRAGUE);
    let world = deploy_v2_world(&mut chain, &code, &spec).expect("world");
    let victim = signer(2);
    chain.set_balance(victim.address(), U256::from(1_000 * ETHER));
    let token = world.tokens[0];
    let swap = IUniswapV2Router02::swapExactETHForTokensCall {
        amountOutMin: U256::ZERO,
        path: vec![world.weth, token],
        to: victim.address(),
        deadline: U256::MAX,
    };
    let victim_raw = sign(
        &victim,
        world.routers[0],
        swap.abi_encode().into(),
        U256::from(5 * ETHER),
        0,
    );
    let (buy, sell) = (world.pair(1, token), world.pair(0, token));
    let backrun = kestrel_fire::executor::backrun_calldata(
        buy.expect("pool 1"),
        sell.expect("pool 0"),
        997,
        997,
        U256::ZERO,
        0,
    );
    let searcher = signer(1);
    let nonce = chain.nonce(searcher.address());
    let backrun_raw = sign(&searcher, world.executor, backrun.into(), U256::ZERO, nonce);
    let raw = [victim_raw, backrun_raw];
    let txs = raw.clone().map(|r| SimTx::from_raw(&r).expect("tx"));
    let block = NextBlock {
        number: 2,
        timestamp: 1_800_000_000,
        basefee: 7,
        gas_limit: 30_000_000,
        coinbase: COINBASE,
        prevrandao: B256::ZERO,
        excess_blob_gas: 0,
    };
    // Only what the two transactions touch, as a node prefetch would give it.
    let mut start = SnapshotBuilder::new(1);
    start.absent(COINBASE);
    let (snapshot, misses) = chain
        .complete_for(Arc::new(start.build()), &block, &txs, 500)
        .expect("snapshot");
    eprintln!(
        "snapshot: {} accounts, {} slots ({} fetches)",
        snapshot.account_count(),
        snapshot.slot_count(),
        misses.len()
    );
    Fixture {
        weth: world.weth,
        executor: world.executor,
        snapshot,
        block,
        raw,
        txs,
    }
}

fn sim(c: &mut Criterion) {
    let f = fixture();
    let mut sim = Simulator::new(Arc::clone(&f.snapshot), ChainRules::SEPOLIA_PRAGUE);
    let outcomes = sim.run(&f.block, &f.txs).expect("simulates");
    assert!(outcomes.iter().all(|o| o.is_success()), "{outcomes:?}");
    eprintln!(
        "gas: victim {}, backrun {}",
        outcomes[0].gas_used, outcomes[1].gas_used
    );
    c.bench_function("sim/victim+backrun (reused simulator)", |b| {
        b.iter(|| black_box(sim.run(&f.block, black_box(&f.txs)).map(<[_]>::len)))
    });
    // The victim alone: what the backrun adds is the difference from the line above.
    c.bench_function("sim/victim only (reused simulator)", |b| {
        b.iter(|| black_box(sim.run(&f.block, black_box(&f.txs[..1])).map(<[_]>::len)))
    });
    c.bench_function("sim/victim+backrun (fresh simulator)", |b| {
        b.iter(|| {
            let mut fresh = Simulator::new(Arc::clone(&f.snapshot), ChainRules::SEPOLIA_PRAGUE);
            black_box(fresh.run(&f.block, black_box(&f.txs)).map(<[_]>::len))
        })
    });
    c.bench_function("sim/victim+backrun + executor WETH balanceOf", |b| {
        b.iter(|| {
            let _ = black_box(sim.run(&f.block, black_box(&f.txs)).map(<[_]>::len));
            black_box(sim.erc20_balance(f.weth, f.executor).ok())
        })
    });
    let _ = sim.run(&f.block, &f.txs);
    c.bench_function(
        "sim/executor WETH balanceOf (view call on the overlay)",
        |b| b.iter(|| black_box(sim.erc20_balance(f.weth, black_box(f.executor)).ok())),
    );
    c.bench_function("sim/SimTx::from_raw (decode + sender recovery)", |b| {
        b.iter(|| black_box(SimTx::from_raw(black_box(&f.raw[0])).map(|t| t.sender())))
    });
}

criterion_group!(benches, sim);
criterion_main!(benches);
