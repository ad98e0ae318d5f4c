//! The executor contract, the anvil launcher and the world deployer against a real anvil and the
//! real Uniswap V2 bytecode. Expected amounts are worked out here from the formulas (Uniswap's
//! getAmountOut, the executor's closed-form optimum with `U256::root` as the square root), never
//! read back from the code under test.

use alloy::network::TransactionBuilder as _;
use alloy::providers::{DynProvider, Provider};
use alloy::rpc::types::TransactionReceipt;
use alloy::signers::local::PrivateKeySigner;
use alloy::sol_types::{Revert, SolEvent};
use alloy_primitives::{Address, U256, address, b256, uint};
use kestrel_sandbox::anvil::{self, Anvil};
use kestrel_sandbox::deploy::bindings::{
    IERC20, IKestrelExecutor, IUniswapV2Factory, IUniswapV2Pair, IUniswapV2Router02, IWETH9,
};
use kestrel_sandbox::deploy::{self, World, WorldSpec};
use kestrel_stdx::Rng;

const ETHER: U256 = uint!(1_000000000000000000_U256);
const FEE_V2: u64 = 997;
/// Where the blocks' fees and the executor's builder payments go in these tests.
const COINBASE: Address = address!("00000000000000000000000000000000c0ffee01");

fn eth(n: u64) -> U256 {
    U256::from(n) * ETHER
}

// ---- the independent reference computations -------------------------------------------------

/// Floor square root from ruint, an implementation independent of the contract's.
fn isqrt(x: U256) -> U256 {
    x.root(2)
}

/// The brief's sizing formula, step by step; `None` where the contract must say "unprofitable".
fn optimal(x1: U256, y1: U256, y2: U256, x2: U256, n1: U256, n2: U256) -> Option<U256> {
    let k = isqrt(n1 * n2 * U256::from(10u64).pow(U256::from(12u64)));
    let s = isqrt(x1 * y1) * isqrt(x2 * y2);
    let lhs = s * k / U256::from(1000u64);
    let rhs = U256::from(1_000_000u64) * x1 * y2;
    if lhs <= rhs {
        return None;
    }
    let den = U256::from(1000u64) * n1 * y2 + n1 * n2 * y1;
    Some((lhs - rhs) / den)
}

/// UniswapV2Library.getAmountOut with fee numerator `n` over 1000.
fn amount_out(a: U256, r_in: U256, r_out: U256, n: U256) -> U256 {
    a * n * r_out / (r_in * U256::from(1000u64) + a * n)
}

// ---- set-up -----------------------------------------------------------------------------------

struct Setup {
    // Held so anvil lives as long as the test.
    _anvil: Anvil,
    world: World,
    deployer: DynProvider,
    searcher: DynProvider,
    user: DynProvider,
}

fn dev_address(index: usize) -> Address {
    Anvil::dev_key(index)
        .parse::<PrivateKeySigner>()
        .unwrap()
        .address()
}

fn spec(tokens: usize, factories: usize, skew_bps: u32, capital: U256) -> WorldSpec {
    WorldSpec {
        tokens,
        factories,
        liquidity_weth: eth(100),
        price_skew_bps: skew_bps,
        executor_capital_weth: capital,
        searcher: dev_address(1),
        searcher_key: Anvil::dev_key(1),
    }
}

async fn setup(spec: &WorldSpec) -> Setup {
    let anvil = Anvil::start().unwrap();
    let url = anvil.http_url();
    let world = deploy::deploy_world(&url, &Anvil::dev_key(0), spec)
        .await
        .unwrap();
    let deployer = deploy::connect(&url, &Anvil::dev_key(0)).unwrap();
    let searcher = deploy::connect(&url, &Anvil::dev_key(1)).unwrap();
    let user = deploy::connect(&url, &Anvil::dev_key(2)).unwrap();
    Setup {
        _anvil: anvil,
        world,
        deployer,
        searcher,
        user,
    }
}

/// `(WETH reserve, token reserve)` of a WETH/token pair.
async fn reserves(provider: &DynProvider, pair: Address, weth: Address) -> (U256, U256) {
    let pair = IUniswapV2Pair::new(pair, provider);
    let r = pair.getReserves().call().await.unwrap();
    let (r0, r1) = (U256::from(r.reserve0), U256::from(r.reserve1));
    if pair.token0().call().await.unwrap() == weth {
        (r0, r1)
    } else {
        (r1, r0)
    }
}

/// A user buys `token` with `wei` ETH through `router` (the trade the searcher backruns).
async fn user_buys(s: &Setup, router: Address, token: Address, wei: U256) -> TransactionReceipt {
    let user = dev_address(2);
    let swap = IUniswapV2Router02::new(router, &s.user)
        .swapExactETHForTokens(U256::ZERO, vec![s.world.weth, token], user, U256::MAX)
        .value(wei)
        // An explicit limit: anvil's estimate once came out below what the swap used (the
        // user's first token balance write), and the swap ran out of gas.
        .gas(300_000)
        .into_transaction_request();
    deploy::send_and_mine(&s.user, swap).await.unwrap()
}

/// The revert string of a failed `eth_call`, or a marker that makes the caller's assert fail.
fn revert_reason<T>(result: Result<T, alloy::contract::Error>) -> String {
    match result {
        Ok(_) => "<did not revert>".to_owned(),
        Err(err) => match err.as_decoded_error::<Revert>() {
            Some(revert) => revert.reason,
            None => format!("<not a revert string: {err}>"),
        },
    }
}

fn backrun_log(receipt: &TransactionReceipt) -> IKestrelExecutor::Backrun {
    let logs = receipt.inner.logs();
    let log = logs
        .iter()
        .find_map(|log| IKestrelExecutor::Backrun::decode_log(&log.inner).ok());
    log.expect("no Backrun event in the receipt").data
}

async fn weth_balance(provider: &DynProvider, weth: Address, who: Address) -> U256 {
    IWETH9::new(weth, provider)
        .balanceOf(who)
        .call()
        .await
        .unwrap()
}

// ---- anvil --------------------------------------------------------------------------------------

#[tokio::test]
async fn anvil_dev_keys_are_anvils_accounts_and_blocks_wait_for_mine() {
    let anvil = Anvil::start().unwrap();
    let provider = deploy::connect(&anvil.http_url(), &Anvil::dev_key(0)).unwrap();
    assert_eq!(provider.get_chain_id().await.unwrap(), 11_155_111);
    let accounts = provider.get_accounts().await.unwrap();
    assert_eq!(accounts.len(), Anvil::DEV_ACCOUNTS);
    for (index, account) in accounts.iter().enumerate() {
        assert_eq!(dev_address(index), *account, "dev key {index}");
    }
    // Well known: account 0 of the "test … junk" mnemonic.
    assert_eq!(
        dev_address(0),
        address!("f39Fd6e51aad88F6F4ce6aB8827279cffFb92266")
    );

    // --no-mining: a sent transaction waits for evm_mine.
    let start = provider.get_block_number().await.unwrap();
    let tx = alloy::rpc::types::TransactionRequest::default()
        .with_to(dev_address(3))
        .with_value(U256::from(1u64));
    let pending = provider.send_transaction(tx).await.unwrap();
    let hash = *pending.tx_hash();
    assert!(
        provider
            .get_transaction_receipt(hash)
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(provider.get_block_number().await.unwrap(), start);
    anvil::mine(&provider).await.unwrap();
    assert_eq!(provider.get_block_number().await.unwrap(), start + 1);
    assert!(
        provider
            .get_transaction_receipt(hash)
            .await
            .unwrap()
            .unwrap()
            .status()
    );

    anvil::set_balance(&provider, COINBASE, eth(7))
        .await
        .unwrap();
    assert_eq!(provider.get_balance(COINBASE).await.unwrap(), eth(7));

    let port = anvil.port();
    assert!(anvil.ws_url().ends_with(&format!(":{port}")));
    drop(anvil);
    // Drop killed the child: nothing listens on its port any more.
    assert!(std::net::TcpStream::connect(("127.0.0.1", port)).is_err());
}

// ---- deploy_world -------------------------------------------------------------------------------

#[tokio::test]
async fn deploy_world_seeds_every_pool_exactly_and_routers_trade_through_them() {
    let spec = spec(2, 3, 100, eth(10));
    let s = setup(&spec).await;
    let w = &s.world;
    // Uniswap V2's published init-code hash, hard-coded in Router02's pairFor.
    let published = b256!("96e8ac4277198ff8b6f785478aa9a39f403cb768dd02cbee326c3e7da348845f");
    assert_eq!(w.init_code_hash, published);
    assert_eq!(
        (
            w.tokens.len(),
            w.factories.len(),
            w.routers.len(),
            w.pairs.len()
        ),
        (2, 3, 3, 6)
    );

    // 100 WETH per pool against 100_000 tokens, 1 % more tokens on each later factory.
    let token_reserves = [eth(100_000), eth(101_000), eth(102_000)];
    let of_token1: Vec<usize> = w.pairs_of(w.tokens[1]).map(|p| p.factory_index).collect();
    assert_eq!(of_token1, [0, 1, 2]);
    for pair in &w.pairs {
        let found = IUniswapV2Factory::new(w.factories[pair.factory_index], &s.deployer)
            .getPair(pair.token, w.weth)
            .call()
            .await
            .unwrap();
        assert_eq!(found, pair.address);
        let got = reserves(&s.deployer, pair.address, w.weth).await;
        assert_eq!(
            got,
            (eth(100), token_reserves[pair.factory_index]),
            "{pair:?}"
        );
    }
    for (index, router) in w.routers.iter().enumerate() {
        let token = w.tokens[1];
        let before = IERC20::new(token, &s.user)
            .balanceOf(dev_address(2))
            .call()
            .await
            .unwrap();
        user_buys(&s, *router, token, ETHER).await;
        let after = IERC20::new(token, &s.user)
            .balanceOf(dev_address(2))
            .call()
            .await
            .unwrap();
        let want = amount_out(ETHER, eth(100), token_reserves[index], U256::from(FEE_V2));
        assert_eq!(after - before, want, "router {index}");
    }
    let executor = IKestrelExecutor::new(w.executor, &s.deployer);
    assert_eq!(executor.owner().call().await.unwrap(), dev_address(1));
    assert_eq!(executor.weth().call().await.unwrap(), w.weth);
    assert_eq!(weth_balance(&s.deployer, w.weth, w.executor).await, eth(10));
}

#[tokio::test]
async fn deploy_world_rejects_a_single_factory_and_a_mismatched_searcher() {
    let anvil = Anvil::start().unwrap();
    let one_factory = spec(1, 1, 0, eth(1));
    assert!(
        deploy::deploy_world(&anvil.http_url(), &Anvil::dev_key(0), &one_factory)
            .await
            .is_err()
    );
    let mut wrong_key = spec(1, 2, 0, eth(1));
    wrong_key.searcher_key = Anvil::dev_key(4);
    assert!(
        deploy::deploy_world(&anvil.http_url(), &Anvil::dev_key(0), &wrong_key)
            .await
            .is_err()
    );
}

// ---- the executor ------------------------------------------------------------------------------

/// What one backrun must do, computed from the pools' reserves before it.
#[derive(Debug)]
struct Expected {
    amount_in: U256,
    mid: U256,
    out: U256,
    gross: U256,
    pay: U256,
}

fn expect_backrun(buy: (U256, U256), sell: (U256, U256), capital: U256, bps: u64) -> Expected {
    let fee = U256::from(FEE_V2);
    let ((x1, y1), (x2, y2)) = (buy, sell);
    let optimum = optimal(x1, y1, y2, x2, fee, fee).expect("the test's pools must be profitable");
    let amount_in = optimum.min(capital);
    let mid = amount_out(amount_in, x1, y1, fee);
    let out = amount_out(mid, y2, x2, fee);
    let gross = out - amount_in;
    let pay = gross * U256::from(bps) / U256::from(10_000u64);
    Expected {
        amount_in,
        mid,
        out,
        gross,
        pay,
    }
}

/// The revert string of `backrun(buy, sell, 997, 997, min_profit, bps)` called by dev account
/// `caller` (via `eth_call`, so nothing changes).
async fn backrun_reason(
    s: &Setup,
    caller: usize,
    pools: (Address, Address),
    min_profit: U256,
    bps: u64,
) -> String {
    let provider = if caller == 1 {
        &s.searcher
    } else {
        &s.deployer
    };
    let executor = IKestrelExecutor::new(s.world.executor, provider);
    let fee = U256::from(FEE_V2);
    let call = executor.backrun(pools.0, pools.1, fee, fee, min_profit, U256::from(bps));
    revert_reason(call.from(dev_address(caller)).call().await)
}

/// How much `who`'s ETH balance changed in block `block`.
async fn eth_gained_in_block(provider: &DynProvider, who: Address, block: u64) -> U256 {
    let before = provider.get_balance(who).number(block - 1).await.unwrap();
    provider.get_balance(who).number(block).await.unwrap() - before
}

#[tokio::test]
async fn backrun_takes_exactly_the_computed_profit_and_pays_the_builder() {
    let s = setup(&spec(1, 2, 0, eth(10))).await;
    let w = &s.world;
    anvil::set_coinbase(&s.deployer, COINBASE).await.unwrap();
    let (pool0, pool1) = (w.pairs[0].address, w.pairs[1].address);
    let fee = U256::from(FEE_V2);
    let bps = 2_500u64;

    // Equal pools: nothing to take.
    assert_eq!(
        backrun_reason(&s, 1, (pool1, pool0), U256::ZERO, bps).await,
        "unprofitable"
    );

    // A user buys the token on pool 0, which makes it dear there: buy on pool 1, sell on pool 0.
    user_buys(&s, w.routers[0], w.tokens[0], eth(5)).await;
    let buy = reserves(&s.deployer, pool1, w.weth).await;
    let sell = reserves(&s.deployer, pool0, w.weth).await;
    let want = expect_backrun(buy, sell, eth(10), bps);
    assert!(
        want.amount_in < eth(10),
        "the optimum, not the capital, sizes this trade: {want:?}"
    );
    let executor = IKestrelExecutor::new(w.executor, &s.searcher);
    let quoted = executor
        .optimalAmountIn(buy.0, buy.1, sell.1, sell.0, fee, fee)
        .call()
        .await
        .unwrap();
    assert_eq!(quoted, want.amount_in);
    let net = want.gross - want.pay;
    assert_eq!(
        backrun_reason(&s, 1, (pool1, pool0), net + U256::from(1u64), bps).await,
        "profit"
    );
    assert_eq!(
        backrun_reason(&s, 0, (pool1, pool0), U256::ZERO, bps).await,
        "owner"
    );

    // The real thing, with minProfit at exactly the net profit and no priority fee, so the
    // coinbase's gain is the payment alone.
    let call = executor
        .backrun(pool1, pool0, fee, fee, net, U256::from(bps))
        .max_priority_fee_per_gas(0)
        .max_fee_per_gas(100_000_000_000)
        // An explicit limit, as the engine's ladder sets: an estimate taken before the coinbase
        // account exists undercounts the payment's new-account cost.
        .gas(400_000);
    let receipt = deploy::send_and_mine(&s.searcher, call.into_transaction_request())
        .await
        .unwrap();
    let event = backrun_log(&receipt);
    assert_eq!((event.poolBuy, event.poolSell), (pool1, pool0));
    assert_eq!(
        (event.amountIn, event.profitGross, event.payment),
        (want.amount_in, want.gross, want.pay)
    );
    assert!(!want.pay.is_zero());
    assert_eq!(
        weth_balance(&s.deployer, w.weth, w.executor).await,
        eth(10) + net
    );
    let block = receipt.block_number.unwrap();
    assert_eq!(
        eth_gained_in_block(&s.deployer, COINBASE, block).await,
        want.pay
    );

    // Both pools moved exactly by the computed legs.
    let buy_after = (buy.0 + want.amount_in, buy.1 - want.mid);
    assert_eq!(reserves(&s.deployer, pool1, w.weth).await, buy_after);
    let sell_after = (sell.0 - want.out, sell.1 + want.mid);
    assert_eq!(reserves(&s.deployer, pool0, w.weth).await, sell_after);
}

#[tokio::test]
async fn backrun_is_capped_by_capital_and_the_owner_can_withdraw() {
    let capital = ETHER / U256::from(2u64);
    let s = setup(&spec(1, 2, 0, capital)).await;
    let w = &s.world;
    let (pool0, pool1) = (w.pairs[0].address, w.pairs[1].address);
    let fee = U256::from(FEE_V2);
    user_buys(&s, w.routers[0], w.tokens[0], eth(5)).await;
    let buy = reserves(&s.deployer, pool1, w.weth).await;
    let sell = reserves(&s.deployer, pool0, w.weth).await;
    let want = expect_backrun(buy, sell, capital, 0);
    assert_eq!(
        want.amount_in, capital,
        "the optimum must exceed the capital here: {want:?}"
    );

    let executor = IKestrelExecutor::new(w.executor, &s.searcher);
    let call = executor.backrun(pool1, pool0, fee, fee, U256::ZERO, U256::ZERO);
    let receipt = deploy::send_and_mine(&s.searcher, call.into_transaction_request())
        .await
        .unwrap();
    let event = backrun_log(&receipt);
    assert_eq!(
        (event.amountIn, event.profitGross, event.payment),
        (capital, want.gross, U256::ZERO)
    );
    let held = capital + want.gross;
    assert_eq!(weth_balance(&s.deployer, w.weth, w.executor).await, held);

    let as_stranger = IKestrelExecutor::new(w.executor, &s.deployer);
    let stranger = as_stranger.withdraw(w.weth, dev_address(0), held);
    assert_eq!(
        revert_reason(stranger.from(dev_address(0)).call().await),
        "owner"
    );
    let searcher = dev_address(1);
    let withdraw = executor.withdraw(w.weth, searcher, held);
    deploy::send_and_mine(&s.searcher, withdraw.into_transaction_request())
        .await
        .unwrap();
    assert_eq!(
        weth_balance(&s.deployer, w.weth, w.executor).await,
        U256::ZERO
    );
    assert_eq!(weth_balance(&s.deployer, w.weth, searcher).await, held);
}

#[tokio::test]
async fn contract_isqrt_and_optimum_match_the_reference_on_random_inputs() {
    let anvil = Anvil::start().unwrap();
    let searcher = deploy::connect(&anvil.http_url(), &Anvil::dev_key(1)).unwrap();
    let weth = address!("00000000000000000000000000000000000000e7");
    let artifact = kestrel_sandbox::artifacts::executor().unwrap();
    let at = deploy::deploy(
        &searcher,
        &artifact,
        &alloy::sol_types::SolValue::abi_encode(&weth),
    )
    .await
    .unwrap();
    let executor = IKestrelExecutor::new(at, &searcher);

    let mut rng = Rng::from_seed(0x006b_6573_7472_656c);
    let mut inputs: Vec<U256> = [0u64, 1, 2, 3, 4, 15, 16, 17, u64::MAX]
        .into_iter()
        .map(U256::from)
        .collect();
    inputs.extend([
        U256::MAX,
        U256::MAX - U256::from(1u64),
        (U256::from(1u64) << 255),
    ]);
    let big_root = U256::from(u128::MAX);
    inputs.extend([big_root * big_root, big_root * big_root - U256::from(1u64)]);
    for _ in 0..120 {
        let mut bytes = [0u8; 32];
        rng.fill_bytes(&mut bytes);
        // Random widths, so small and large values both get tried.
        inputs.push(U256::from_be_bytes(bytes) >> rng.gen_range(0..256) as usize);
    }
    for x in inputs {
        let got = executor.isqrt(x).call().await.unwrap();
        assert_eq!(got, isqrt(x), "isqrt({x})");
        // And the definition itself: got² <= x < (got + 1)².
        assert!(got * got <= x, "isqrt({x})");
        let next = got + U256::from(1u64);
        assert!(next.checked_mul(next).is_none_or(|sq| sq > x), "isqrt({x})");
    }

    let (mut profitable, mut unprofitable) = (0, 0);
    for _ in 0..60 {
        // log_uniform is f64-quantised above 2^53: mix in random low bits.
        let mut reserve = || {
            let v = rng.log_uniform_u128(1_000_000_000_000_000, 10u128.pow(28));
            U256::from(v ^ u128::from(rng.next_u64() & 0xffff_ffff))
        };
        let (x1, y1, y2, x2) = (reserve(), reserve(), reserve(), reserve());
        let (n1, n2) = (
            U256::from(rng.gen_range(990..1001)),
            U256::from(rng.gen_range(990..1001)),
        );
        let call = executor.optimalAmountIn(x1, y1, y2, x2, n1, n2);
        match optimal(x1, y1, y2, x2, n1, n2) {
            Some(want) => {
                profitable += 1;
                assert_eq!(
                    call.call().await.unwrap(),
                    want,
                    "{x1} {y1} {y2} {x2} {n1} {n2}"
                );
            }
            None => {
                unprofitable += 1;
                assert_eq!(revert_reason(call.call().await), "unprofitable");
            }
        }
    }
    assert!(
        profitable > 5 && unprofitable > 5,
        "{profitable} / {unprofitable}: widen the ranges"
    );
}
