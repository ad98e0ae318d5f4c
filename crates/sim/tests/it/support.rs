//! Shared fixtures: anvil's dev keys, signing, and the Uniswap V2 world deployed inside revm from
//! the real npm bytecode (no node), with a victim swap and our backrun signed for it.

use std::sync::Arc;

use alloy::consensus::{SignableTransaction, TxEip1559, TxEnvelope};
use alloy::eips::Encodable2718;
use alloy::network::TxSignerSync;
use alloy::primitives::{Address, B256, Bytes, TxKind, U256, address};
use alloy::signers::local::PrivateKeySigner;
use alloy::sol_types::SolCall;
use kestrel_sandbox::anvil::Anvil;
use kestrel_sandbox::artifacts;
use kestrel_sandbox::deploy::bindings::IUniswapV2Router02;
use kestrel_sim::devnet::LocalChain;
use kestrel_sim::devnet::v2::{V2Bytecode, V2World, V2WorldSpec, deploy_v2_world};
use kestrel_sim::revm::DatabaseRef;
use kestrel_sim::{ChainRules, Miss, NextBlock, SimTx, SnapshotBuilder, StateSnapshot};

pub const ETHER: u128 = 1_000_000_000_000_000_000;

/// The chain rules every test here runs with.
pub const RULES: ChainRules = ChainRules::SEPOLIA_PRAGUE;

/// WETH9 keeps `balanceOf` at slot 3; v2-core's ERC20 `balanceOf` at 1.
pub const WETH_BALANCES_SLOT: u64 = 3;
pub const TOKEN_BALANCES_SLOT: u64 = 1;

alloy::sol_types::sol! {
    /// Router02's token-in swap, for victims that spend a token.
    function swapExactTokensForTokens(
        uint256 amountIn,
        uint256 amountOutMin,
        address[] path,
        address to,
        uint256 deadline
    ) external returns (uint256[] amounts);
}
pub const GWEI: u128 = 1_000_000_000;

/// Fee recipient of simulated blocks in these tests.
pub const COINBASE: Address = address!("00000000000000000000000000000000c0ffee01");

/// The base fee of the simulated next block.
pub const BASE_FEE: u64 = 7;

pub fn dev_signer(index: usize) -> PrivateKeySigner {
    Anvil::dev_key(index).parse().unwrap()
}

/// An EIP-1559 call (or transfer) signed for Sepolia, as raw EIP-2718 bytes.
pub struct Call {
    pub to: Address,
    pub data: Bytes,
    pub value: U256,
    pub nonce: u64,
    pub gas_limit: u64,
    pub max_fee: u128,
    pub tip: u128,
}

/// A well-formed signed transaction that runs no contract: dev 2 sends 1 wei, nonce 0.
pub fn plain_transfer() -> Bytes {
    sign(
        &dev_signer(2),
        Call {
            to: Address::repeat_byte(0x11),
            data: Bytes::new(),
            value: U256::from(1),
            nonce: 0,
            gas_limit: 21_000,
            max_fee: 3 * GWEI,
            tip: GWEI,
        },
    )
}

pub fn sign(signer: &PrivateKeySigner, call: Call) -> Bytes {
    let mut tx = TxEip1559 {
        chain_id: kestrel_sim::SEPOLIA_CHAIN_ID,
        nonce: call.nonce,
        gas_limit: call.gas_limit,
        max_fee_per_gas: call.max_fee,
        max_priority_fee_per_gas: call.tip,
        to: TxKind::Call(call.to),
        value: call.value,
        access_list: Default::default(),
        input: call.data,
    };
    let sig = signer.sign_transaction_sync(&mut tx).unwrap();
    Bytes::from(TxEnvelope::from(tx.into_signed(sig)).encoded_2718())
}

pub fn next_block(number: u64) -> NextBlock {
    NextBlock {
        number,
        timestamp: 1_800_000_000,
        basefee: BASE_FEE,
        gas_limit: 30_000_000,
        coinbase: COINBASE,
        prevrandao: B256::repeat_byte(0x42),
        excess_blob_gas: 0,
    }
}

pub fn v2_bytecode() -> V2Bytecode {
    let load = |name: &str| artifacts::load(name).unwrap().bytecode;
    V2Bytecode {
        weth9: load("WETH9"),
        erc20: load("ERC20"),
        factory: load("UniswapV2Factory"),
        router02: load("UniswapV2Router02"),
        executor: artifacts::executor().unwrap().bytecode,
    }
}

/// The V2 world in revm: one token on two factories, pools of 100 WETH at the same price,
/// 50 WETH of executor capital; deployer dev 0, searcher dev 1. The victim is dev 2.
pub struct RevmWorld {
    pub chain: LocalChain,
    pub world: V2World,
    pub snapshot: Arc<StateSnapshot>,
}

pub fn revm_world() -> RevmWorld {
    let mut chain = LocalChain::new(ChainRules::SEPOLIA_PRAGUE);
    let spec = V2WorldSpec {
        tokens: 1,
        factories: 2,
        liquidity_weth: U256::from(100 * ETHER),
        price_skew_bps: 0,
        executor_capital_weth: U256::from(50 * ETHER),
        deployer: dev_signer(0).address(),
        searcher: dev_signer(1).address(),
    };
    let world = deploy_v2_world(&mut chain, &v2_bytecode(), &spec).unwrap();
    chain.set_balance(dev_signer(2).address(), U256::from(1_000 * ETHER));
    let mut builder = chain.snapshot(1).to_builder();
    builder.absent(COINBASE);
    RevmWorld {
        chain,
        world,
        snapshot: Arc::new(builder.build()),
    }
}

/// Router02 `swapExactETHForTokens` of `wei` on factory 0's pool, to the victim itself.
pub fn victim_swap(world: &V2World, wei: U256, amount_out_min: U256, nonce: u64) -> Bytes {
    let victim = dev_signer(2);
    let token = world.tokens[0];
    let call = IUniswapV2Router02::swapExactETHForTokensCall {
        amountOutMin: amount_out_min,
        path: vec![world.weth, token],
        to: victim.address(),
        deadline: U256::MAX,
    };
    sign(
        &victim,
        Call {
            to: world.routers[0],
            data: call.abi_encode().into(),
            value: wei,
            nonce,
            gas_limit: 300_000,
            max_fee: 3 * GWEI,
            tip: GWEI,
        },
    )
}

/// Our backrun after a buy on factory 0: buy the token on factory 1, sell it on factory 0.
pub fn backrun(world: &V2World, payment_bps: u32, nonce: u64) -> Bytes {
    let token = world.tokens[0];
    let pool_buy = world.pair(1, token).unwrap();
    let pool_sell = world.pair(0, token).unwrap();
    let data = kestrel_fire::executor::backrun_calldata(
        pool_buy,
        pool_sell,
        997,
        997,
        U256::ZERO,
        payment_bps,
    );
    sign(
        &dev_signer(1),
        Call {
            to: world.executor,
            data: data.into(),
            value: U256::ZERO,
            nonce,
            gas_limit: 400_000,
            max_fee: 3 * GWEI,
            tip: 2 * GWEI,
        },
    )
}

/// The victim (a 5 ETH buy) and our backrun as the simulator takes them, senders recovered.
pub fn victim_and_backrun(w: &RevmWorld) -> [SimTx; 2] {
    let victim_nonce = w.chain.nonce(dev_signer(2).address());
    let searcher_nonce = w.chain.nonce(dev_signer(1).address());
    let victim = victim_swap(&w.world, U256::from(5 * ETHER), U256::ZERO, victim_nonce);
    let backrun = backrun(&w.world, 0, searcher_nonce);
    [
        SimTx::from_raw(&victim).unwrap(),
        SimTx::from_raw(&backrun).unwrap(),
    ]
}

/// `snapshot` completed for `txs` from the local chain; every miss must come only once.
pub fn complete_for(
    chain: &LocalChain,
    snapshot: Arc<StateSnapshot>,
    block: &NextBlock,
    txs: &[SimTx],
) -> (Arc<StateSnapshot>, Vec<Miss>) {
    let (snapshot, seen) = chain.complete_for(snapshot, block, txs, 200).unwrap();
    for (i, miss) in seen.iter().enumerate() {
        assert!(!seen[..i].contains(miss), "{miss} missed twice");
    }
    (snapshot, seen)
}

/// The revm world's snapshot completed for the victim and backrun of [`victim_and_backrun`].
pub fn world_with_sequence() -> (RevmWorld, [SimTx; 2]) {
    let mut w = revm_world();
    let txs = victim_and_backrun(&w);
    let (snapshot, _) = complete_for(&w.chain, Arc::clone(&w.snapshot), &next_block(2), &txs);
    w.snapshot = snapshot;
    (w, txs)
}

/// `snapshot` without what `leave_out` names: a [`Miss::Account`] leaves out that account and
/// its slots, a [`Miss::Storage`] one slot; the next run misses on exactly those. Block hashes
/// are not carried over (the V2 world's snapshots hold none), and every slot's account must be
/// in the snapshot.
pub fn snapshot_without(snapshot: &StateSnapshot, leave_out: &[Miss]) -> StateSnapshot {
    let kept_account = |address: Address| !leave_out.contains(&Miss::Account(address));
    let mut builder = SnapshotBuilder::new(snapshot.block());
    for address in snapshot.addresses().filter(|a| kept_account(*a)) {
        match snapshot.basic_ref(address).unwrap() {
            Some(info) => {
                let code = info.code.map(|c| c.original_bytes()).unwrap_or_default();
                builder.account(address, info.balance, info.nonce, code)
            }
            None => builder.absent(address),
        };
    }
    for (address, slot) in snapshot.slots() {
        if kept_account(address) && !leave_out.contains(&Miss::Storage(address, slot)) {
            let value = snapshot.storage(address, slot).unwrap();
            builder.storage(address, slot, value);
        }
    }
    builder.build()
}
