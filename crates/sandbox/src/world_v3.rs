//! The sandbox world's Uniswap V3 layer, over the V2 world's WETH and tokens: the V3 factory
//! and periphery, WETH/token pools in several fee tiers priced a little off the V2 pools, a
//! token/token pool for two-hop paths, a full-range position and seeded concentrated ones in
//! each, and SwapRouter02 and the Universal Router over V2 factory 0 and this factory.
//!
//! The skews stay inside the round-trip fee of every pair of pools, so the world opens with no
//! arbitrage: only a user's trade opens a cycle (V2-V3, V3-V3, or three hops through the
//! token/token pool). The positions span several tick ranges, so a larger trade crosses
//! initialized ticks. Everything except the contract addresses follows from the spec's seed.

use alloy::providers::DynProvider;
use alloy_primitives::{Address, B256, Bytes, U256, uint};
use anyhow::{Context, ensure};
use kestrel_dex::v3::V3PoolKey;
use kestrel_dex::v3::tick_math::{MAX_TICK, MIN_TICK, get_tick_at_sqrt_ratio};
use kestrel_stdx::Rng;

use crate::anvil::set_balance;
use crate::artifacts;
use crate::deploy::bindings::{IERC20, IWETH9};
use crate::deploy::{TOKENS_PER_WETH, World, connect, key_address, send_and_mine};
use crate::routers::{RouterDeps, Routers, deploy_routers};
use crate::v3::{self, V3Contracts};

alloy::sol! {
    /// QuoterV2's multi-hop quote (v3-periphery 1.4.4).
    #[sol(rpc)]
    interface IQuoterV2Path {
        function quoteExactInput(bytes memory path, uint256 amountIn) external returns (uint256 amountOut, uint160[] memory sqrtPriceX96AfterList, uint32[] memory initializedTicksCrossedList, uint256 gasEstimate);
    }
}

/// ETH the deployer gets on top of the pools' WETH, for gas.
const GAS_RESERVE_WEI: U256 = uint!(1_000_000000000000000000_U256); // 1000 ETH

/// Share of a pool's liquidity budget in its medium and narrow positions (the full-range and
/// wide ones get the whole budget each): divisors of [`V3WorldSpec::liquidity_weth`].
const MEDIUM_DIVISOR: u64 = 5;
const NARROW_DIVISOR: u64 = 15;

/// Half-widths of the seeded positions, in ticks (rounded to the pool's spacing).
const WIDE_TICKS: std::ops::Range<u64> = 3_000..5_000;
const MEDIUM_TICKS: std::ops::Range<u64> = 600..1_200;
const NARROW_TICKS: std::ops::Range<u64> = 60..400;

/// One fee tier of the WETH/token pools and how far its price sits from V2 factory 0's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TierSpec {
    /// Fee in pips (500 = 0.05 %).
    pub fee_pips: u32,
    /// Tokens per WETH are `TOKENS_PER_WETH * (1 + skew_bps / 10_000)`; negative makes the
    /// token dearer than on V2.
    pub skew_bps: i32,
}

/// What the V3 layer holds.
#[derive(Debug, Clone)]
pub struct V3WorldSpec {
    /// Seed of the positions' tick ranges.
    pub seed: u64,
    /// The WETH/token pools' tiers: one pool per token per tier.
    pub tiers: Vec<TierSpec>,
    /// Fee tier of the token/token pools (token `i` with token `i + 1`), at par.
    pub cross_fee_pips: u32,
    /// WETH value of a pool's full-range position and of its wide one; its medium and narrow
    /// ones hold a fifth and a fifteenth of it.
    pub liquidity_weth: U256,
}

impl V3WorldSpec {
    /// The sandbox's layer: 0.05 % pools 15 bps cheaper in tokens than V2 factory 0 and 0.3 %
    /// pools 15 bps dearer, each pair of pools inside its round-trip fee; 10 WETH full range
    /// and 10 wide.
    pub fn sandbox(seed: u64) -> V3WorldSpec {
        V3WorldSpec {
            seed,
            tiers: vec![
                TierSpec {
                    fee_pips: 500,
                    skew_bps: 15,
                },
                TierSpec {
                    fee_pips: 3000,
                    skew_bps: -15,
                },
            ],
            cross_fee_pips: 500,
            liquidity_weth: U256::from(10u64) * U256::from(10u64).pow(U256::from(18u64)),
        }
    }
}

/// What [`deploy_v3_world`] deployed.
#[derive(Debug, Clone)]
pub struct V3World {
    /// Factory, SwapRouter, QuoterV2, position manager, multicall.
    pub contracts: V3Contracts,
    /// SwapRouter02 and the Universal Router.
    pub routers: Routers,
    /// Index into [`World::factories`] of the V2 factory the routers swap through.
    pub v2_factory_index: usize,
    /// keccak256 of UniswapV3Pool's creation code, which pool addresses derive from.
    pub pool_init_code_hash: B256,
    /// Fee tiers of every pool, sorted.
    pub fee_tiers: Vec<u32>,
    /// Every WETH/token pool, token-major then in tier order.
    pub weth_pools: Vec<V3PoolKey>,
    /// The token/token pools.
    pub cross_pools: Vec<V3PoolKey>,
}

impl V3World {
    /// The WETH/`token` pool of a tier.
    pub fn weth_pool(&self, weth: Address, token: Address, fee_pips: u32) -> Option<&V3PoolKey> {
        self.weth_pools
            .iter()
            .find(|k| k.fee_pips == fee_pips && has_tokens(k, weth, token))
    }

    /// A token/token pool with `token` in it, and the other token.
    pub fn cross_pool_of(&self, token: Address) -> Option<(&V3PoolKey, Address)> {
        self.cross_pools.iter().find_map(|k| {
            if k.token0 == token {
                Some((k, k.token1))
            } else if k.token1 == token {
                Some((k, k.token0))
            } else {
                None
            }
        })
    }
}

fn has_tokens(key: &V3PoolKey, a: Address, b: Address) -> bool {
    (key.token0 == a && key.token1 == b) || (key.token0 == b && key.token1 == a)
}

/// Deploys the V3 layer described by `spec` over `world` on the anvil at `http_url`, from the
/// deployer that deployed `world` (it holds the tokens' spare supply); see the module docs.
pub async fn deploy_v3_world(
    http_url: &str,
    deployer_key: &str,
    world: &World,
    spec: &V3WorldSpec,
) -> anyhow::Result<V3World> {
    ensure!(!spec.tiers.is_empty(), "a V3 world needs at least one tier");
    ensure!(
        !spec.liquidity_weth.is_zero(),
        "liquidity_weth must be positive"
    );
    let deployer = connect(http_url, deployer_key)?;
    let me = key_address(deployer_key)?;
    let pools = spec.tiers.len() * world.tokens.len();
    let weth_needed = spec.liquidity_weth * U256::from(3 * pools);
    let have = alloy::providers::Provider::get_balance(&deployer, me).await?;
    set_balance(&deployer, me, have + weth_needed + GAS_RESERVE_WEI).await?;
    let wrap = IWETH9::new(world.weth, &deployer)
        .deposit()
        .value(weth_needed)
        .into_transaction_request();
    send_and_mine(&deployer, wrap).await?;

    let contracts = v3::deploy_v3_with_weth(&deployer, world.weth).await?;
    for &token in std::iter::once(&world.weth).chain(&world.tokens) {
        let approve = IERC20::new(token, &deployer)
            .approve(contracts.position_manager, U256::MAX)
            .into_transaction_request();
        send_and_mine(&deployer, approve).await?;
    }
    let pool_init_code_hash = artifacts::load("UniswapV3Pool")?.init_code_hash();
    let layer = Layer {
        deployer: &deployer,
        owner: me,
        contracts: &contracts,
        hash: pool_init_code_hash,
    };
    let mut rng = Rng::from_seed(spec.seed);
    let mut weth_pools = Vec::with_capacity(pools);
    for &token in &world.tokens {
        for tier in &spec.tiers {
            let price = tokens_per_weth(tier.skew_bps);
            let key = layer
                .pool(
                    (world.weth, token),
                    tier.fee_pips,
                    price,
                    spec.liquidity_weth,
                    &mut rng,
                )
                .await?;
            weth_pools.push(key);
        }
    }
    let mut cross_pools = Vec::new();
    for pair in world.tokens.windows(2) {
        // At par, and as deep in tokens as a WETH/token pool.
        let par = (U256::from(1u64), U256::from(1u64));
        let budget = spec.liquidity_weth * U256::from(TOKENS_PER_WETH);
        let key = layer
            .pool(
                (pair[0], pair[1]),
                spec.cross_fee_pips,
                par,
                budget,
                &mut rng,
            )
            .await?;
        cross_pools.push(key);
    }

    let v2_factory_index = 0;
    let routers = deploy_routers(
        &deployer,
        RouterDeps {
            weth: world.weth,
            v2_factory: world.factories[v2_factory_index],
            v3_factory: contracts.factory,
            position_manager: contracts.position_manager,
            pair_init_code_hash: world.init_code_hash,
            pool_init_code_hash,
        },
    )
    .await?;
    let mut fee_tiers: Vec<u32> = spec.tiers.iter().map(|t| t.fee_pips).collect();
    fee_tiers.push(spec.cross_fee_pips);
    fee_tiers.sort_unstable();
    fee_tiers.dedup();
    Ok(V3World {
        contracts,
        routers,
        v2_factory_index,
        pool_init_code_hash,
        fee_tiers,
        weth_pools,
        cross_pools,
    })
}

/// Tokens per WETH of a tier, as `(numerator, denominator)`.
fn tokens_per_weth(skew_bps: i32) -> (U256, U256) {
    let bps = 10_000i64 + i64::from(skew_bps);
    let bps = u64::try_from(bps.max(1)).unwrap_or(1);
    (
        U256::from(TOKENS_PER_WETH) * U256::from(bps),
        U256::from(10_000u64),
    )
}

/// What every pool of the layer shares.
struct Layer<'a> {
    deployer: &'a DynProvider,
    owner: Address,
    contracts: &'a V3Contracts,
    hash: B256,
}

impl Layer<'_> {
    /// Creates the `(base, quote)` pool at `num / den` quote per base, checks it sits where
    /// CREATE2 with the init-code hash says (what routers and the engine compute), and mints
    /// its positions: `budget` base tokens' worth over the full range (so that one-sided flow
    /// never drains the pool, as it cannot drain a V2 pair) and as much again in a wide range
    /// around the price, a fifth of it in a medium and a fifteenth in a narrow one.
    async fn pool(
        &self,
        (base, quote): (Address, Address),
        fee_pips: u32,
        (num, den): (U256, U256),
        budget: U256,
        rng: &mut Rng,
    ) -> anyhow::Result<V3PoolKey> {
        let base_is_token0 = base < quote;
        // sqrtPriceX96 = sqrt(token1 per token0) * 2^96.
        let ratio_x192 = if base_is_token0 {
            (num << 192usize) / den
        } else {
            (den << 192usize) / num
        };
        let sqrt_price = ratio_x192.root(2);
        let key = v3::create_pool(
            self.deployer,
            self.contracts,
            (base, quote),
            fee_pips,
            sqrt_price,
        )
        .await?;
        let predicted = kestrel_chain::v3::pool_address(
            self.contracts.factory,
            (base, quote),
            fee_pips,
            self.hash,
        );
        ensure!(
            key.address == predicted,
            "pool {} is not at the CREATE2 address {predicted}",
            key.address
        );
        let tick = get_tick_at_sqrt_ratio(sqrt_price)
            .with_context(|| format!("initial price of {} is out of range", key.address))?;
        let spacing = key.tick_spacing;
        let centre = tick.div_euclid(spacing) * spacing;
        let full = (
            (MIN_TICK / spacing) * spacing,
            (MAX_TICK / spacing) * spacing,
        );
        let positions = [
            (full, budget),
            (symmetric(centre, spacing, rng, WIDE_TICKS), budget),
            (
                symmetric(centre, spacing, rng, MEDIUM_TICKS),
                budget / U256::from(MEDIUM_DIVISOR),
            ),
            (
                (
                    centre - ticks(spacing, rng, NARROW_TICKS),
                    centre + ticks(spacing, rng, NARROW_TICKS),
                ),
                budget / U256::from(NARROW_DIVISOR),
            ),
        ];
        for (range, base_amount) in positions {
            let quote_amount = base_amount * num / den;
            let amounts = if base_is_token0 {
                (base_amount, quote_amount)
            } else {
                (quote_amount, base_amount)
            };
            v3::mint_position(
                self.deployer,
                self.contracts,
                &key,
                range,
                amounts,
                self.owner,
            )
            .await
            .with_context(|| format!("minting {range:?} in pool {}", key.address))?;
        }
        Ok(key)
    }
}

/// `centre ± w`, `w` drawn from `range` ticks.
fn symmetric(centre: i32, spacing: i32, rng: &mut Rng, range: std::ops::Range<u64>) -> (i32, i32) {
    let w = ticks(spacing, rng, range);
    (centre - w, centre + w)
}

/// A tick distance drawn from `range`, rounded down to the spacing, at least one spacing.
fn ticks(spacing: i32, rng: &mut Rng, range: std::ops::Range<u64>) -> i32 {
    let drawn = i32::try_from(rng.gen_range(range)).unwrap_or(i32::MAX);
    (drawn / spacing).max(1) * spacing
}

/// QuoterV2 `quoteExactInput` over a packed V3 `path`: what `amount_in` buys.
pub async fn quote_exact_input(
    provider: &DynProvider,
    contracts: &V3Contracts,
    path: Bytes,
    amount_in: U256,
) -> anyhow::Result<U256> {
    let quoter = IQuoterV2Path::new(contracts.quoter, provider);
    let reply = quoter
        .quoteExactInput(path, amount_in)
        .call()
        .await
        .context("QuoterV2.quoteExactInput")?;
    Ok(reply.amountOut)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gas_reserve_is_a_thousand_ether() {
        let ether = U256::from(10u64).pow(U256::from(18u64));
        assert_eq!(GAS_RESERVE_WEI, U256::from(1_000u64) * ether);
    }

    #[test]
    fn the_sandbox_tiers_open_with_no_arbitrage() {
        // Two pools are arbitrage-free while their price ratio is below 1 / ((1 - f_a)(1 - f_b)).
        let spec = V3WorldSpec::sandbox(1);
        let v2 = [(0i32, 3000u32), (30, 3000)];
        let v3: Vec<(i32, u32)> = spec
            .tiers
            .iter()
            .map(|t| (t.skew_bps, t.fee_pips))
            .collect();
        let all: Vec<(i32, u32)> = v2.iter().copied().chain(v3).collect();
        for (i, &(sa, fa)) in all.iter().enumerate() {
            for &(sb, fb) in &all[i + 1..] {
                let ratio = f64::from(10_000 + sa.max(sb)) / f64::from(10_000 + sa.min(sb));
                let fees = (1.0 - f64::from(fa) / 1e6) * (1.0 - f64::from(fb) / 1e6);
                assert!(ratio < 1.0 / fees, "{sa} bps at {fa} and {sb} at {fb}");
            }
        }
    }

    #[test]
    fn drawn_ticks_are_multiples_of_the_spacing() {
        let mut rng = Rng::from_seed(7);
        for spacing in [1, 10, 60, 200] {
            for _ in 0..100 {
                let t = ticks(spacing, &mut rng, NARROW_TICKS);
                assert!(t >= spacing && t % spacing == 0 && t < 400.max(spacing + 1));
            }
        }
    }
}
