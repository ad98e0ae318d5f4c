//! The schema: walks the parsed TOML section by section, then runs the cross-field checks.

use std::collections::HashMap;
use std::path::PathBuf;

use kestrel_types::cex::{FeeAsset, Fixed, Interval, Rate, Scale, Venue};
use kestrel_types::{ChainId, U256};

use toml::Value;

use crate::Secret;
use crate::model::{
    BackrunConfig, BinanceKeyKind, CexConfig, ChainConfig, Config, DexConfig, HotConfig,
    JournalConfig, ModeSetting, RelayConfig, RelayKind, RouterConfig, RouterKind, SignerConfig,
    StatArbCapitalBase, StatArbConfig, StatArbSelection, StatArbSignal, StatArbSizing,
    TelemetryConfig, UniversalRouterVersion, V2FactoryConfig, V3FactoryConfig, WaitSetting,
    XarbConfig, XarbVenueConfig,
};
use crate::read::{self, Errors, Field, Section};
use crate::value::{Scheme, is_loopback_host};

/// `FactoryId` is a `u8`, so at most 256 factories can be addressed.
const MAX_V2_FACTORIES: usize = 256;
/// Limits on the other `[dex]` lists: each entry costs start-up reads or a table slot.
const MAX_V3_FACTORIES: usize = 256;
const MAX_ROUTERS: usize = 256;
const MAX_FEE_TIERS: usize = 16;
/// The V3 factory's `require(fee < 1000000)`.
const MAX_FEE_PIPS: i64 = 999_999;

pub(crate) const MODES: &[(&str, ModeSetting)] = &[
    ("dry-run", ModeSetting::DryRun),
    ("live", ModeSetting::Live),
];
pub(crate) const RELAY_KINDS: &[(&str, RelayKind)] = &[
    ("execution", RelayKind::Execution),
    ("simulation", RelayKind::Simulation),
    ("local", RelayKind::Local),
];
pub(crate) const WAITS: &[(&str, WaitSetting)] = &[
    ("spin", WaitSetting::Spin),
    ("yield", WaitSetting::Yield),
    ("park", WaitSetting::Park),
];
pub(crate) const ROUTER_KINDS: &[(&str, KindName)] = &[
    ("v2_router02", KindName::V2Router02),
    ("swap_router", KindName::SwapRouter),
    ("swap_router02", KindName::SwapRouter02),
    ("universal_router", KindName::UniversalRouter),
];
pub(crate) const UR_VERSIONS: &[(&str, UniversalRouterVersion)] = &[
    ("v1", UniversalRouterVersion::V1),
    ("v2", UniversalRouterVersion::V2),
    ("v2.1", UniversalRouterVersion::V2_1),
];

/// A router `kind` as the file spells it, before its `version` is read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum KindName {
    V2Router02,
    SwapRouter,
    SwapRouter02,
    UniversalRouter,
}

impl KindName {
    /// The spelling of `kind`: its name and, for a universal router, its version.
    pub(crate) fn of(kind: RouterKind) -> (KindName, Option<UniversalRouterVersion>) {
        match kind {
            RouterKind::V2Router02 => (KindName::V2Router02, None),
            RouterKind::SwapRouter => (KindName::SwapRouter, None),
            RouterKind::SwapRouter02 => (KindName::SwapRouter02, None),
            RouterKind::UniversalRouter(v) => (KindName::UniversalRouter, Some(v)),
        }
    }
}

/// The inverse of the `choice` tables, so reading and writing share one spelling.
pub(crate) fn name_of<T: PartialEq + Copy>(
    options: &[(&'static str, T)],
    value: T,
) -> &'static str {
    options
        .iter()
        .find(|(_, v)| *v == value)
        .map_or("", |(name, _)| name)
}

/// Validates a whole parsed document; every violation ends up in the returned `Errors`.
pub(crate) fn config(table: toml::Table, errors: &mut Errors) -> Option<Config> {
    let mut root = Section::root(table);
    let mode = root.or(errors, "mode", ModeSetting::DryRun, read::choice(MODES));
    let chain = root
        .required_section(errors, "chain")
        .and_then(|s| chain(errors, s));
    let dex = root
        .required_section(errors, "dex")
        .and_then(|s| dex(errors, s));
    let backrun = root
        .required_section(errors, "backrun")
        .and_then(|s| backrun(errors, s, mode));
    let signer = root
        .required_section(errors, "signer")
        .and_then(|s| key_holder(errors, s));
    let relay_auth = root
        .required_section(errors, "relay_auth")
        .and_then(|s| key_holder(errors, s));
    let relays = root
        .optional(errors, "relays", read::tables)
        .unwrap_or_default();
    let relays = relays_with_checks(errors, relays, mode);
    let hot = optional_section(&mut root, errors, "hot", hot);
    let shared = shared_sections(&mut root, errors, mode);
    root.finish(errors);
    if let (Some(signer), Some(relay_auth)) = (&signer, &relay_auth)
        && signer.key == relay_auth.key
    {
        errors.push(
            "relay_auth.key",
            "must name a different variable than signer.key: the relay identity key must \
                 not be the funds key",
        );
    }
    if let (Some(dex), Some(backrun)) = (&dex, &backrun)
        && backrun.confirm_v2
        && dex.v3_factories.is_empty()
    {
        errors.push(
            "backrun.confirm_v2",
            "needs at least one [[dex.v3_factories]]: the revm state that confirmation runs on \
                 is prefetched with them",
        );
    }
    Some(Config {
        mode,
        chain: chain?,
        dex: dex?,
        backrun: backrun?,
        signer: signer?,
        relay_auth: relay_auth?,
        relays: relays?,
        hot: hot?,
        journal: shared.journal?,
        telemetry: shared.telemetry?,
        xarb: shared.xarb?,
        statarb: shared.statarb?,
    })
}

/// The top-level keys that belong to the DEX backrun lane: a document with any of them is a
/// full [`Config`], read by [`config`]; one with none of them is a [`CexConfig`].
pub(crate) const BACKRUN_KEYS: &[&str] = &[
    "chain",
    "dex",
    "backrun",
    "signer",
    "relay_auth",
    "relays",
    "hot",
];

/// Whether a parsed document is a full config (it has a backrun-lane key) rather than a
/// CEX-only one.
pub(crate) fn is_full(table: &toml::Table) -> bool {
    BACKRUN_KEYS.iter().any(|key| table.contains_key(*key))
}

/// Validates a CEX-only document (one without any of [`BACKRUN_KEYS`]): `mode`, `[journal]`,
/// `[telemetry]` and the exchange lanes, read by the same functions as in [`config`], and at
/// least one lane. `mode = "live"` asks nothing more here: the relay and executor it needs in a
/// full config belong to the backrun lane.
pub(crate) fn cex_config(table: toml::Table, errors: &mut Errors) -> Option<CexConfig> {
    let mut root = Section::root(table);
    let has_lane = root.has("xarb") || root.has("statarb");
    let mode = root.or(errors, "mode", ModeSetting::DryRun, read::choice(MODES));
    let shared = shared_sections(&mut root, errors, mode);
    root.finish(errors);
    if !has_lane {
        errors.push(
            "chain",
            "a config needs [chain] and the backrun sections ([dex], [backrun], [signer], \
             [relay_auth]), or an exchange lane ([xarb] or [statarb])",
        );
        return None;
    }
    Some(CexConfig {
        mode,
        journal: shared.journal?,
        telemetry: shared.telemetry?,
        xarb: shared.xarb?,
        statarb: shared.statarb?,
    })
}

/// The sections a full and a CEX-only config share, each `None` if it was invalid.
struct SharedSections {
    journal: Option<JournalConfig>,
    telemetry: Option<TelemetryConfig>,
    xarb: Option<Option<XarbConfig>>,
    statarb: Option<Option<StatArbConfig>>,
}

/// Reads `[journal]`, `[telemetry]`, `[xarb]` and `[statarb]`, in that order, from the root;
/// `mode` decides whether `[statarb]` needs credentials.
fn shared_sections(root: &mut Section, errors: &mut Errors, mode: ModeSetting) -> SharedSections {
    let journal = optional_section(root, errors, "journal", journal);
    let telemetry = optional_section(root, errors, "telemetry", telemetry);
    let xarb = match root.take("xarb") {
        Some(field) => Section::from_field(errors, field)
            .and_then(|s| xarb(errors, s))
            .map(Some),
        None => Some(None),
    };
    let statarb = match root.take("statarb") {
        Some(field) => Section::from_field(errors, field)
            .and_then(|s| statarb(errors, s, mode))
            .map(Some),
        None => Some(None),
    };
    SharedSections {
        journal,
        telemetry,
        xarb,
        statarb,
    }
}

/// A section that may be absent (then `T::default()`); `None` only if it was invalid.
fn optional_section<T: Default>(
    root: &mut Section,
    errors: &mut Errors,
    key: &str,
    read: fn(&mut Errors, Section) -> Option<T>,
) -> Option<T> {
    match root.take(key) {
        Some(field) => Section::from_field(errors, field).and_then(|s| read(errors, s)),
        None => Some(T::default()),
    }
}

fn chain(errors: &mut Errors, mut s: Section) -> Option<ChainConfig> {
    let chain_id = s.required(errors, "chain_id", read::int_in::<u64>(1..=i64::MAX));
    let ws_field = s.take("ws_url");
    let ws_present = ws_field.is_some();
    let ws_url = ws_field
        .and_then(|f| read::url(errors, f, Scheme::Ws))
        .map(|(url, _)| url);
    let http_url = s.required(errors, "http_url", |e, f| read::url(e, f, Scheme::Http));
    let ipc_path = s
        .optional(errors, "ipc_path", read::non_empty)
        .map(PathBuf::from);
    let ipc_present = ipc_path.is_some();
    if !ws_present && !ipc_present {
        let path = read::join(s.path(), "ws_url");
        errors.push(
            &path,
            "missing required key (or set ipc_path for an IPC pending-tx stream)",
        );
    }
    s.finish(errors);
    // An invalid ws_url was reported; only a valid config is built.
    if ws_present && ws_url.is_none() {
        return None;
    }
    Some(ChainConfig {
        chain_id: ChainId(chain_id?),
        ws_url,
        http_url: http_url?.0,
        ipc_path,
    })
}

fn dex(errors: &mut Errors, mut s: Section) -> Option<DexConfig> {
    let key_path = read::join(s.path(), "v2_factories");
    let v2_sections = s.required(errors, "v2_factories", read::tables);
    let v3_path = read::join(s.path(), "v3_factories");
    let v3_sections = s.optional(errors, "v3_factories", read::tables);
    let routers_path = read::join(s.path(), "routers");
    let router_sections = s.optional(errors, "routers", read::tables);
    let max_pairs_per_factory = s.or(
        errors,
        "max_pairs_per_factory",
        5_000,
        read::int_in(1..=1_000_000),
    );
    let max_v3_pools_per_factory = s.or(
        errors,
        "max_v3_pools_per_factory",
        2_000,
        read::int_in(1..=100_000),
    );
    s.finish(errors);
    // Factory names share one namespace: logs and the journal name a pool's factory by it.
    let mut names = UniqueNames::default();
    let v2_factories = v2_sections.and_then(|sections| {
        if sections.is_empty() || sections.len() > MAX_V2_FACTORIES {
            let n = sections.len();
            errors.push(
                &key_path,
                format!("needs 1..={MAX_V2_FACTORIES} [[{key_path}]] tables, got {n}"),
            );
            return None;
        }
        all_or_none(sections, |f| v2_factory(errors, &mut names, f))
    });
    let v3_factories = match v3_sections {
        Some(sections) if sections.len() > MAX_V3_FACTORIES => {
            let n = sections.len();
            errors.push(
                &v3_path,
                format!("at most {MAX_V3_FACTORIES} [[{v3_path}]] tables, got {n}"),
            );
            None
        }
        Some(sections) => all_or_none(sections, |f| v3_factory(errors, &mut names, f)),
        None => Some(Vec::new()),
    };
    let routers = match router_sections {
        Some(sections) if sections.len() > MAX_ROUTERS => {
            let n = sections.len();
            errors.push(
                &routers_path,
                format!("at most {MAX_ROUTERS} [[{routers_path}]] tables, got {n}"),
            );
            None
        }
        Some(sections) => routers(errors, sections),
        None => Some(Vec::new()),
    };
    let (v2_factories, v3_factories, mut routers) = (v2_factories?, v3_factories?, routers?);
    let v2_names: Vec<&str> = v2_factories.iter().map(|f| f.name.as_str()).collect();
    let v3_names: Vec<&str> = v3_factories.iter().map(|f| f.name.as_str()).collect();
    bind_router_factories(errors, &routers_path, &mut routers, &v2_names, &v3_names);
    Some(DexConfig {
        v2_factories,
        v3_factories,
        routers,
        max_pairs_per_factory,
        max_v3_pools_per_factory,
    })
}

/// Reads every section with `read` (so each one's problems are reported) and returns them all,
/// or `None` if any was invalid.
fn all_or_none<T>(
    sections: Vec<Section>,
    mut read: impl FnMut(Section) -> Option<T>,
) -> Option<Vec<T>> {
    let count = sections.len();
    let items: Vec<T> = sections.into_iter().filter_map(&mut read).collect();
    (items.len() == count).then_some(items)
}

fn v2_factory(
    errors: &mut Errors,
    names: &mut UniqueNames,
    mut f: Section,
) -> Option<V2FactoryConfig> {
    let name = f.required(errors, "name", read::non_empty);
    if let Some(name) = &name {
        names.check(errors, &read::join(f.path(), "name"), name);
    }
    let factory = f.required(errors, "factory", read::address);
    let router = f.required(errors, "router", read::address);
    let init_code_hash = f.required(errors, "init_code_hash", read::b256);
    let fee_numerator = f.required(errors, "fee_numerator", read::int_in(900..=1000));
    f.finish(errors);
    Some(V2FactoryConfig {
        name: name?,
        factory: factory?,
        router: router?,
        init_code_hash: init_code_hash?,
        fee_numerator: fee_numerator?,
    })
}

fn v3_factory(
    errors: &mut Errors,
    names: &mut UniqueNames,
    mut f: Section,
) -> Option<V3FactoryConfig> {
    let name = f.required(errors, "name", read::non_empty);
    if let Some(name) = &name {
        names.check(errors, &read::join(f.path(), "name"), name);
    }
    let factory = f.required(errors, "factory", read::address);
    let fee_tiers = match f.take("fee_tiers") {
        Some(field) => fee_tiers(errors, field),
        None => Some(V3FactoryConfig::DEFAULT_FEE_TIERS.to_vec()),
    };
    let pool_init_code_hash = f.required(errors, "pool_init_code_hash", read::b256);
    f.finish(errors);
    Some(V3FactoryConfig {
        name: name?,
        factory: factory?,
        fee_tiers: fee_tiers?,
        pool_init_code_hash: pool_init_code_hash?,
    })
}

/// `fee_tiers`: 1..=[`MAX_FEE_TIERS`] distinct pips below the factory's bound of 1000000.
fn fee_tiers(errors: &mut Errors, field: Field) -> Option<Vec<u32>> {
    let path = field.path.clone();
    let count = match &field.value {
        Value::Array(items) => items.len(),
        _ => 0,
    };
    // Reports a value that is not an array, and every item out of range.
    let tiers = read::array(errors, field, |e, f| {
        read::int_in::<u32>(0..=MAX_FEE_PIPS)(e, f)
    })?;
    if tiers.len() != count {
        return None;
    }
    if count == 0 || count > MAX_FEE_TIERS {
        errors.push(
            &path,
            format!("needs 1..={MAX_FEE_TIERS} fee tiers, got {count}"),
        );
        return None;
    }
    for (i, tier) in tiers.iter().enumerate() {
        if let Some(first) = tiers.iter().position(|t| t == tier)
            && first < i
        {
            errors.push(
                &format!("{path}[{i}]"),
                format!("duplicate fee tier {tier} (first at {path}[{first}])"),
            );
            return None;
        }
    }
    Some(tiers)
}

/// Reads every `[[dex.routers]]` and checks that names and addresses are unique.
fn routers(errors: &mut Errors, sections: Vec<Section>) -> Option<Vec<RouterConfig>> {
    let mut names = UniqueNames::default();
    let mut addresses = UniqueNames::default();
    all_or_none(sections, |mut r| {
        let name = r.required(errors, "name", read::non_empty);
        if let Some(name) = &name {
            names.check(errors, &read::join(r.path(), "name"), name);
        }
        let address_path = read::join(r.path(), "address");
        let address = r.required(errors, "address", read::address);
        if let Some(address) = &address {
            addresses.check_address(errors, &address_path, &address.to_checksum(None));
        }
        let kind = router_kind(errors, &mut r);
        let v2_factory = r.optional(errors, "v2_factory", read::non_empty);
        let v3_factory = r.optional(errors, "v3_factory", read::non_empty);
        r.finish(errors);
        Some(RouterConfig {
            name: name?,
            address: address?,
            kind: kind?,
            v2_factory,
            v3_factory,
        })
    })
}

/// Which pools a router's swaps go through: each router's `v2_factory` and `v3_factory` must
/// name a configured factory of that kind, may be left out when there is only one (or none),
/// and must be left out when the router kind cannot swap through that kind of pool.
fn bind_router_factories(
    errors: &mut Errors,
    routers_path: &str,
    routers: &mut [RouterConfig],
    v2_names: &[&str],
    v3_names: &[&str],
) {
    for (i, r) in routers.iter_mut().enumerate() {
        let at = format!("{routers_path}[{i}]");
        let kind = name_of(ROUTER_KINDS, KindName::of(r.kind).0);
        for (key, swaps, names, table, slot) in [
            (
                "v2_factory",
                r.kind.swaps_v2(),
                v2_names,
                "v2_factories",
                &mut r.v2_factory,
            ),
            (
                "v3_factory",
                r.kind.swaps_v3(),
                v3_names,
                "v3_factories",
                &mut r.v3_factory,
            ),
        ] {
            let path = read::join(&at, key);
            match (slot.as_deref(), swaps, names) {
                (Some(_), false, _) => errors.push(
                    &path,
                    format!("a {kind:?} does not swap through [[dex.{table}]] pools: remove it"),
                ),
                (Some(name), true, _) if !names.contains(&name) => {
                    errors.push(&path, format!("no [[dex.{table}]] is named {name:?}"))
                }
                (Some(_), true, _) | (None, false, _) | (None, true, []) => {}
                (None, true, [only]) => *slot = Some((*only).to_owned()),
                (None, true, several) => errors.push(
                    &path,
                    format!(
                        "missing required key: {} [[dex.{table}]] are configured; name the one \
                         this router swaps through",
                        several.len()
                    ),
                ),
            }
        }
    }
}

/// `kind`, and `version` exactly when the kind is `"universal_router"`. With an invalid kind, a
/// `version` is still checked but neither required nor refused.
fn router_kind(errors: &mut Errors, r: &mut Section) -> Option<RouterKind> {
    let kind = r.required(errors, "kind", read::choice(ROUTER_KINDS));
    let version_path = read::join(r.path(), "version");
    let version_field = r.take("version");
    let version_present = version_field.is_some();
    let version = version_field.and_then(|f| read::choice(UR_VERSIONS)(errors, f));
    let kind = kind?;
    match (kind, version_present) {
        (KindName::UniversalRouter, true) => version.map(RouterKind::UniversalRouter),
        (KindName::UniversalRouter, false) => {
            errors.push(
                &version_path,
                "missing required key: a \"universal_router\" needs its version (\"v1\", \
                 \"v2\" or \"v2.1\")",
            );
            None
        }
        (KindName::V2Router02, false) => Some(RouterKind::V2Router02),
        (KindName::SwapRouter, false) => Some(RouterKind::SwapRouter),
        (KindName::SwapRouter02, false) => Some(RouterKind::SwapRouter02),
        (other, true) => {
            let name = name_of(ROUTER_KINDS, other);
            errors.push(
                &version_path,
                format!("only a \"universal_router\" has a version, not a {name:?}"),
            );
            None
        }
    }
}

fn backrun(errors: &mut Errors, mut s: Section, mode: ModeSetting) -> Option<BackrunConfig> {
    let e = errors;
    let weth = s.required(e, "weth", read::address);
    let executor_field = s.take("executor");
    let executor_present = executor_field.is_some();
    let executor = executor_field.and_then(|f| read::address(e, f));
    if mode == ModeSetting::Live && !executor_present {
        e.push(
            &read::join(s.path(), "executor"),
            "required when mode = \"live\"",
        );
    }
    let min_profit_wei = s.required(e, "min_profit_wei", read::wei);
    let gas_estimate = s.or(e, "gas_estimate", 150_000, read::int_in(1..=30_000_000));
    let route_gas_estimate = s.or(
        e,
        "route_gas_estimate",
        500_000,
        read::int_in(1..=30_000_000),
    );
    let confirm_routes = s.or(e, "confirm_routes", true, read::boolean);
    let confirm_v2 = s.or(e, "confirm_v2", false, read::boolean);
    let simulate_undecoded = s.or(e, "simulate_undecoded", true, read::boolean);
    let priority_fee_wei = s.or(
        e,
        "priority_fee_wei",
        U256::from(1_000_000_000u64),
        read::wei,
    );
    let builder_payment_bps = s.or(e, "builder_payment_bps", 1000, read::int_in(0..=9999));
    let max_hops = s.or(e, "max_hops", 3, read::int_in(2..=3));
    let ladder_levels = s.or(e, "ladder_levels", 32, read::int_in(1..=64));
    let ladder_step_bps = s.or(e, "ladder_step_bps", 1250, read::int_in(1..=10_000));
    let fee_on_transfer_tokens = s.or(e, "fee_on_transfer_tokens", Vec::new(), |e, f| {
        read::array(e, f, read::address)
    });
    let max_calldata_bytes = s.or(e, "max_calldata_bytes", 4096, read::int_in(256..=131_072));
    s.finish(e);
    // Every key is read before the first `?`, so one missing key does not hide the others.
    if executor_present && executor.is_none() {
        return None;
    }
    Some(BackrunConfig {
        weth: weth?,
        executor,
        min_profit_wei: min_profit_wei?,
        gas_estimate,
        route_gas_estimate,
        confirm_routes,
        confirm_v2,
        simulate_undecoded,
        priority_fee_wei,
        builder_payment_bps,
        max_hops,
        ladder_levels,
        ladder_step_bps,
        fee_on_transfer_tokens,
        max_calldata_bytes,
    })
}

fn key_holder(errors: &mut Errors, mut s: Section) -> Option<SignerConfig> {
    let key = s.required(errors, "key", read::secret);
    s.finish(errors);
    Some(SignerConfig { key: key? })
}

/// Reads every `[[relays]]`, then checks names and the live-mode rule. The rule looks at the
/// `kind` of every relay, even one invalid elsewhere, so a bad URL does not also report a
/// missing execution relay.
fn relays_with_checks(
    errors: &mut Errors,
    sections: Vec<Section>,
    mode: ModeSetting,
) -> Option<Vec<RelayConfig>> {
    let count = sections.len();
    let mut names = UniqueNames::default();
    let mut any_execution = false;
    let mut relays = Vec::with_capacity(count);
    for mut r in sections {
        let name = r.required(errors, "name", read::non_empty);
        if let Some(name) = &name {
            names.check(errors, &read::join(r.path(), "name"), name);
        }
        let kind = r.required(errors, "kind", read::choice(RELAY_KINDS));
        any_execution |= kind == Some(RelayKind::Execution);
        let url_path = read::join(r.path(), "url");
        let url = r.required(errors, "url", |e, f| read::url(e, f, Scheme::Http));
        if let (Some((_, host)), Some(RelayKind::Local)) = (&url, kind)
            && !is_loopback_host(host)
        {
            let message = "a \"local\" relay needs a loopback host (127.0.0.0/8, localhost, [::1])";
            errors.push(&url_path, format!("{message}, got {host:?}"));
        }
        r.finish(errors);
        if let (Some(name), Some((url, _)), Some(kind)) = (name, url, kind) {
            relays.push(RelayConfig { name, url, kind });
        }
    }
    if mode == ModeSetting::Live && !any_execution {
        errors.push(
            "relays",
            "mode = \"live\" needs at least one relay with kind = \"execution\"",
        );
    }
    (relays.len() == count).then_some(relays)
}

fn hot(errors: &mut Errors, mut s: Section) -> Option<HotConfig> {
    let default = HotConfig::default();
    let ring_path = read::join(s.path(), "ring_capacity");
    let config = HotConfig {
        core: s.optional(errors, "core", read::int_in(0..=4095)),
        wait: s.or(errors, "wait", default.wait, read::choice(WAITS)),
        ring_capacity: s.or(
            errors,
            "ring_capacity",
            default.ring_capacity,
            read::int_in(1024..=1_048_576),
        ),
    };
    if !config.ring_capacity.is_power_of_two() {
        errors.push(
            &ring_path,
            format!("must be a power of two, got {}", config.ring_capacity),
        );
    }
    s.finish(errors);
    Some(config)
}

fn journal(errors: &mut Errors, mut s: Section) -> Option<JournalConfig> {
    let path = s
        .optional(errors, "path", read::non_empty)
        .map(PathBuf::from);
    s.finish(errors);
    Some(JournalConfig {
        path: path.unwrap_or_else(|| JournalConfig::default().path),
    })
}

fn telemetry(errors: &mut Errors, mut s: Section) -> Option<TelemetryConfig> {
    let metrics_addr = s.optional(errors, "metrics_addr", |e, f| {
        let path = f.path.clone();
        let text = read::string(e, f)?;
        let parsed = text.parse().ok();
        if parsed.is_none() {
            e.push(
                &path,
                format!("expected a socket address such as \"127.0.0.1:9464\", got {text:?}"),
            );
        }
        parsed
    });
    let log = s.or(
        errors,
        "log",
        TelemetryConfig::default().log,
        read::non_empty,
    );
    s.finish(errors);
    Some(TelemetryConfig { metrics_addr, log })
}

pub(crate) const VENUES: &[(&str, Venue)] = &[
    ("binance", Venue::Binance),
    ("coinbase", Venue::Coinbase),
    ("kraken", Venue::Kraken),
    ("okx", Venue::Okx),
    ("bybit", Venue::Bybit),
];
pub(crate) const FEE_ASSETS: &[(&str, FeeAsset)] =
    &[("base", FeeAsset::Base), ("quote", FeeAsset::Quote)];
pub(crate) const BINANCE_KEY_KINDS: &[(&str, BinanceKeyKind)] = &[
    ("hmac", BinanceKeyKind::Hmac),
    ("ed25519", BinanceKeyKind::Ed25519),
];

/// The spot rule for where a buy's fee is taken: in the base received on Binance, OKX and
/// Bybit; in quote on Kraken and Coinbase.
pub(crate) fn default_buy_fee_asset(venue: Venue) -> FeeAsset {
    match venue {
        Venue::Binance | Venue::Okx | Venue::Bybit => FeeAsset::Base,
        Venue::Kraken | Venue::Coinbase => FeeAsset::Quote,
    }
}

/// The most fraction digits of a notional amount (price digits + size digits): a `Fixed` at
/// that scale must still be a `Scale`.
const MAX_NOTIONAL_DIGITS: u8 = Scale::MAX_DIGITS;

/// `price_digits` and `size_digits`, whose sum (the notional scale) must be a scale too:
/// `((price, size), notional)`.
fn scales(e: &mut Errors, s: &mut Section) -> Option<((Scale, Scale), Scale)> {
    let price_digits: Option<u8> = s.required(e, "price_digits", read::int_in(0..=18));
    let size_digits: Option<u8> = s.required(e, "size_digits", read::int_in(0..=18));
    match (price_digits, size_digits) {
        (Some(p), Some(z)) if p + z <= MAX_NOTIONAL_DIGITS => {
            // Both are at most 18, so both are scales.
            Scale::new(p).zip(Scale::new(z)).zip(Scale::new(p + z))
        }
        (Some(p), Some(z)) => {
            e.push(
                &read::join(s.path(), "size_digits"),
                format!(
                    "price_digits + size_digits must be at most {MAX_NOTIONAL_DIGITS} (quote \
                     amounts are counted at their sum), got {p} + {z}"
                ),
            );
            None
        }
        _ => None,
    }
}

fn xarb(errors: &mut Errors, mut s: Section) -> Option<XarbConfig> {
    let e = errors;
    let base = s.required(e, "base", read::non_empty);
    let quote = s.required(e, "quote", read::non_empty);
    let scales = scales(e, &mut s);
    // Amounts are read only once their scale is known; without it they are still taken (so
    // they are not also reported as unknown keys).
    let size = scales.map(|((_, z), _)| z);
    let notional = scales.map(|(_, n)| n);
    let amount = |s: &mut Section, e: &mut Errors, key: &str, scale: Option<Scale>, default| match (
        scale, default,
    ) {
        (Some(scale), None) => s.required(e, key, read::fixed(scale)),
        (Some(scale), Some(d)) => Some(s.or(e, key, d, read::fixed(scale))),
        (None, _) => s.take(key).and(None),
    };
    let max_size = amount(&mut s, e, "max_size", size, None);
    let min_profit = amount(&mut s, e, "min_profit", notional, None);
    let transfer_cost = amount(&mut s, e, "transfer_cost", notional, Some(Fixed::ZERO));
    let inventory_cycle_present = s.take("inventory_cycle");
    let max_drawdown = amount(&mut s, e, "max_drawdown", notional, None);
    let max_imbalance = amount(&mut s, e, "max_imbalance", size, None);
    let inventory_cycle = match (inventory_cycle_present, size) {
        (Some(field), Some(z)) => read::fixed(z)(e, field),
        _ => None,
    };
    let cycle_path = read::join(s.path(), "inventory_cycle");
    if let Some(cost) = transfer_cost
        && !cost.is_zero()
        && inventory_cycle.is_none_or(Fixed::is_zero)
    {
        e.push(
            &cycle_path,
            "a non-zero amount of base is required when transfer_cost is not zero (the \
             transfer cost is amortized over it)",
        );
    }
    let safety_margin_bps = s.or(e, "safety_margin_bps", 1, read::int_in(0..=10_000));
    let max_orders_per_minute = s.or(e, "max_orders_per_minute", 120, read::int_in(1..=16_384));
    let unwind_slippage_bps = s.or(e, "unwind_slippage_bps", 50, read::int_in(0..=5_000));
    let stale_after_ms = s.or(e, "stale_after_ms", 5_000, read::int_in(100..=600_000));
    let core = s.optional(e, "core", read::int_in(0..=4095));
    let venues_path = read::join(s.path(), "venues");
    let venue_sections = s.required(e, "venues", read::tables);
    s.finish(e);
    let venues = venue_sections.map(|sections| {
        let count = sections.len();
        if !(2..=5).contains(&count) {
            e.push(
                &venues_path,
                format!("needs two to five [[xarb.venues]] (one per venue), got {count}"),
            );
        }
        let mut names = UniqueNames::default();
        let read: Vec<XarbVenueConfig> = sections
            .into_iter()
            .filter_map(|v| xarb_venue(e, v, &mut names))
            .collect();
        (read.len() == count).then_some(read)
    });
    let ((price_scale, size_scale), _) = scales?;
    Some(XarbConfig {
        base: base?,
        quote: quote?,
        price_scale,
        size_scale,
        max_size: max_size?,
        min_profit: min_profit?,
        safety_margin_bps,
        transfer_cost: transfer_cost?,
        inventory_cycle: inventory_cycle.unwrap_or(Fixed::ZERO),
        max_drawdown: max_drawdown?,
        max_imbalance: max_imbalance?,
        max_orders_per_minute,
        unwind_slippage_bps,
        stale_after_ms,
        core,
        venues: venues.flatten()?,
    })
}

fn xarb_venue(e: &mut Errors, mut v: Section, names: &mut UniqueNames) -> Option<XarbVenueConfig> {
    let venue_path = read::join(v.path(), "venue");
    let venue = v.required(e, "venue", read::choice(VENUES));
    if let Some(venue) = venue {
        names.check_as(e, &venue_path, "venue", venue.name());
    }
    let symbol = v.required(e, "symbol", read::non_empty);
    let base_asset = v.required(e, "base_asset", read::non_empty);
    let quote_asset = v.required(e, "quote_asset", read::non_empty);
    let ws_url = v.required(e, "ws_url", |e, f| read::url(e, f, Scheme::VenueWs));
    let rest_url = v.required(e, "rest_url", |e, f| read::url(e, f, Scheme::VenueHttp));
    let api_key = v.required(e, "api_key", read::secret);
    let api_secret = v.required(e, "api_secret", read::secret);
    let passphrase_path = read::join(v.path(), "passphrase");
    let passphrase = v.optional(e, "passphrase", read::secret);
    match (venue, &passphrase) {
        (Some(Venue::Okx), None) => e.push(&passphrase_path, "required for okx"),
        (Some(other), Some(_)) if other != Venue::Okx => e.push(
            &passphrase_path,
            format!("only okx keys have a passphrase, not {}", other.name()),
        ),
        _ => {}
    }
    let key_kind_path = read::join(v.path(), "key_kind");
    let key_kind_field = v.take("key_kind");
    if key_kind_field.is_some() && venue.is_some_and(|x| x != Venue::Binance) {
        e.push(&key_kind_path, "only binance keys have a key_kind");
    }
    let key_kind = key_kind_field
        .and_then(|f| read::choice(BINANCE_KEY_KINDS)(e, f))
        .unwrap_or_default();
    let buy_fee_asset = v.optional(e, "buy_fee_asset", read::choice(FEE_ASSETS));
    let requests_per_second = v.or(e, "requests_per_second", 5, read::int_in(1..=1000));
    let burst = v.or(e, "burst", 10, read::int_in(1..=1000));
    if let (Some(key), Some(secret)) = (&api_key, &api_secret)
        && key == secret
    {
        e.push(
            &read::join(v.path(), "api_secret"),
            "must name a different variable than api_key",
        );
    }
    v.finish(e);
    let venue = venue?;
    Some(XarbVenueConfig {
        venue,
        symbol: symbol?,
        base_asset: base_asset?,
        quote_asset: quote_asset?,
        ws_url: ws_url?.0,
        rest_url: rest_url?.0,
        api_key: api_key?,
        api_secret: api_secret?,
        passphrase,
        key_kind,
        buy_fee_asset: buy_fee_asset.unwrap_or_else(|| default_buy_fee_asset(venue)),
        requests_per_second,
        burst,
    })
}

pub(crate) const CAPITAL_BASES: &[(&str, StatArbCapitalBase)] = &[
    ("realized", StatArbCapitalBase::Realized),
    ("initial", StatArbCapitalBase::Initial),
];

/// The most symbols one `[statarb]` lane watches (pairs grow with its square).
const MAX_STATARB_SYMBOLS: usize = 128;
/// The fraction digits of a [`Rate`].
pub(crate) const RATE_DIGITS: u8 = 8;
/// Bounds shared by the bar counts.
const MAX_BARS: i64 = 100_000;

fn statarb(errors: &mut Errors, mut s: Section, mode: ModeSetting) -> Option<StatArbConfig> {
    let e = errors;
    let venue = s.required(e, "venue", read::choice(VENUES));
    let symbols = s.required(e, "symbols", statarb_symbols);
    let interval = s.required(e, "interval", interval);
    let rest_url = s.required(e, "rest_url", |e, f| read::url(e, f, Scheme::VenueHttp));
    let ws_url = s.required(e, "ws_url", |e, f| read::url(e, f, Scheme::VenueWs));
    let scales = scales(e, &mut s);
    let quote_asset = s.required(e, "quote_asset", read::non_empty);
    // Read only once its scale is known; without it, still taken (not also an unknown key).
    let capital_path = read::join(s.path(), "capital");
    let capital = match scales {
        Some((_, notional)) => s.required(e, "capital", read::fixed(notional)),
        None => s.take("capital").and(None),
    };
    if capital == Some(Fixed::ZERO) {
        e.push(&capital_path, "must be more than zero");
    }
    let taker_fee = defaulted(
        &mut s,
        e,
        "taker_fee",
        StatArbConfig::DEFAULT_TAKER_FEE,
        rate,
    );
    let buy_fee_asset = s.optional(e, "buy_fee_asset", read::choice(FEE_ASSETS));
    let history_path = read::join(s.path(), "history_bars");
    let history_bars = defaulted(
        &mut s,
        e,
        "history_bars",
        1_000,
        read::int_in::<u32>(100..=MAX_BARS),
    );
    let train_bars = defaulted(
        &mut s,
        e,
        "train_bars",
        500,
        read::int_in::<u32>(50..=MAX_BARS),
    );
    if let (Some(history), Some(train)) = (history_bars, train_bars)
        && history < train
    {
        e.push(
            &history_path,
            format!("must be at least train_bars ({train}), got {history}"),
        );
    }
    let rescan_every_bars = s.or(e, "rescan_every_bars", 250, read::int_in(1..=MAX_BARS));
    let slippage_bps = s.or(e, "slippage_bps", 50, read::int_in(0..=1_000));
    let stale_after_ms = s.or(e, "stale_after_ms", 5_000, read::int_in(100..=600_000));
    let poll_ms = s.optional(e, "poll_ms", read::int_in(10..=600_000));
    let core = s.optional(e, "core", read::int_in(0..=4095));
    let (api_key, api_secret) = statarb_credentials(e, &mut s, mode);
    let (passphrase, key_kind) = venue_key_options(e, &mut s, venue, mode);
    let selection = optional_section(&mut s, e, "selection", statarb_selection);
    let signal = optional_section(&mut s, e, "signal", statarb_signal);
    let sizing = optional_section(&mut s, e, "sizing", statarb_sizing);
    s.finish(e);
    let venue = venue?;
    let ((price_scale, size_scale), _) = scales?;
    let (history_bars, train_bars) = history_bars.zip(train_bars).filter(|(h, t)| h >= t)?;
    Some(StatArbConfig {
        venue,
        symbols: symbols?,
        interval: interval?,
        rest_url: rest_url?.0,
        ws_url: ws_url?.0,
        price_scale,
        size_scale,
        quote_asset: quote_asset?,
        capital: capital.filter(|c| !c.is_zero())?,
        taker_fee: taker_fee?,
        buy_fee_asset: buy_fee_asset.unwrap_or_else(|| default_buy_fee_asset(venue)),
        history_bars,
        train_bars,
        rescan_every_bars,
        slippage_bps,
        stale_after_ms,
        poll_ms,
        core,
        api_key: api_key?,
        api_secret: api_secret?,
        passphrase: passphrase?,
        key_kind,
        selection: selection?,
        signal: signal?,
        sizing: sizing?,
    })
}

/// A key with a default: absent gives `default`, invalid is reported and gives `None` (unlike
/// [`Section::or`], so checks across keys do not run on a stand-in).
fn defaulted<T>(
    s: &mut Section,
    e: &mut Errors,
    key: &str,
    default: T,
    read: impl FnOnce(&mut Errors, Field) -> Option<T>,
) -> Option<T> {
    match s.take(key) {
        Some(field) => read(e, field),
        None => Some(default),
    }
}

/// `symbols`: 2..=[`MAX_STATARB_SYMBOLS`] non-empty strings, no two alike.
fn statarb_symbols(e: &mut Errors, field: Field) -> Option<Vec<String>> {
    let path = field.path.clone();
    let count = match &field.value {
        Value::Array(items) => items.len(),
        _ => 0,
    };
    // Reports a value that is not an array, and every item that is not a non-empty string.
    let symbols = read::array(e, field, read::non_empty)?;
    let mut names = UniqueNames::default();
    for (i, symbol) in symbols.iter().enumerate() {
        names.check_as(e, &format!("{path}[{i}]"), "symbol", &format!("{symbol:?}"));
    }
    if !(2..=MAX_STATARB_SYMBOLS).contains(&count) {
        e.push(
            &path,
            format!("needs 2..={MAX_STATARB_SYMBOLS} symbols, got {count}"),
        );
        return None;
    }
    let unique = names.0.len() == symbols.len();
    (symbols.len() == count && unique).then_some(symbols)
}

/// `interval`: a bar length by its name (`"1m"`, `"1h"`, …).
fn interval(e: &mut Errors, field: Field) -> Option<Interval> {
    let path = field.path.clone();
    let name = read::string(e, field)?;
    let found = Interval::from_name(&name);
    if found.is_none() {
        let names: Vec<String> = Interval::ALL
            .iter()
            .map(|i| format!("{:?}", i.name()))
            .collect();
        e.push(
            &path,
            format!("expected one of {}, got {name:?}", names.join(", ")),
        );
    }
    found
}

/// A fee rate: a decimal string below 1 with at most [`RATE_DIGITS`] fraction digits.
fn rate(e: &mut Errors, field: Field) -> Option<Rate> {
    let path = field.path.clone();
    // `Rate` counts 10^-8: the same units as a `Fixed` at 8 digits.
    let scale = Scale::new(RATE_DIGITS)?;
    let units = read::fixed(scale)(e, field)?;
    if u128::from(units.0) >= Rate::ONE {
        let text = units.to_text(scale);
        e.push(&path, format!("must be below 1 (a fraction), got {text}"));
        return None;
    }
    Some(Rate(units.0))
}

/// `api_key` and `api_secret`: both or neither on paper, both in live mode (the lane signs its
/// orders with them). `Some(None)`: absent; `None`: invalid.
fn statarb_credentials(
    e: &mut Errors,
    s: &mut Section,
    mode: ModeSetting,
) -> (Option<Option<Secret>>, Option<Option<Secret>>) {
    let key_path = read::join(s.path(), "api_key");
    let secret_path = read::join(s.path(), "api_secret");
    let key_field = s.take("api_key");
    let secret_field = s.take("api_secret");
    match (&key_field, &secret_field) {
        (None, None) if mode == ModeSetting::Live => {
            for path in [&key_path, &secret_path] {
                e.push(
                    path,
                    "required when mode = \"live\": the lane signs its orders with the venue's \
                     key (an env:VAR reference)",
                );
            }
        }
        (Some(_), None) => e.push(
            &secret_path,
            "missing required key: api_key and api_secret are set together or not at all",
        ),
        (None, Some(_)) => e.push(
            &key_path,
            "missing required key: api_key and api_secret are set together or not at all",
        ),
        _ => {}
    }
    let read = |e: &mut Errors, field: Option<Field>| match field {
        Some(field) => read::secret(e, field).map(Some),
        None => Some(None),
    };
    let api_key = read(e, key_field);
    let api_secret = read(e, secret_field);
    if let (Some(Some(key)), Some(Some(secret))) = (&api_key, &api_secret)
        && key == secret
    {
        e.push(&secret_path, "must name a different variable than api_key");
    }
    (api_key, api_secret)
}

/// `passphrase` (okx only, and required for okx in live mode) and `key_kind` (binance only).
/// `None` passphrase: invalid.
fn venue_key_options(
    e: &mut Errors,
    s: &mut Section,
    venue: Option<Venue>,
    mode: ModeSetting,
) -> (Option<Option<Secret>>, BinanceKeyKind) {
    let passphrase_path = read::join(s.path(), "passphrase");
    let passphrase = match s.take("passphrase") {
        None if mode == ModeSetting::Live && venue == Some(Venue::Okx) => {
            e.push(
                &passphrase_path,
                "required when mode = \"live\": okx keys have a passphrase (an env:VAR reference)",
            );
            None
        }
        Some(field) => {
            if let Some(other) = venue.filter(|v| *v != Venue::Okx) {
                e.push(
                    &passphrase_path,
                    format!("only okx keys have a passphrase, not {}", other.name()),
                );
            }
            read::secret(e, field).map(Some)
        }
        None => Some(None),
    };
    let key_kind_path = read::join(s.path(), "key_kind");
    let key_kind_field = s.take("key_kind");
    if key_kind_field.is_some() && venue.is_some_and(|x| x != Venue::Binance) {
        e.push(&key_kind_path, "only binance keys have a key_kind");
    }
    let key_kind = key_kind_field
        .and_then(|f| read::choice(BINANCE_KEY_KINDS)(e, f))
        .unwrap_or_default();
    (passphrase, key_kind)
}

fn statarb_selection(e: &mut Errors, mut s: Section) -> Option<StatArbSelection> {
    let positive = || read::float_where(|x| x > 0.0, "> 0");
    let config = StatArbSelection {
        max_p_value: s.optional(
            e,
            "max_p_value",
            read::float_where(|x| (0.0..=1.0).contains(&x), "in [0, 1]"),
        ),
        min_half_life_bars: s.optional(e, "min_half_life_bars", positive()),
        max_half_life_bars: s.optional(e, "max_half_life_bars", positive()),
        min_zero_crossings: s.optional(e, "min_zero_crossings", read::int_in(0..=i64::MAX)),
        top_k: s.optional(e, "top_k", read::int_in(1..=64)),
    };
    s.finish(e);
    Some(config)
}

fn statarb_signal(e: &mut Errors, mut s: Section) -> Option<StatArbSignal> {
    let positive = || read::float_where(|x| x > 0.0, "> 0");
    let config = StatArbSignal {
        entry_z: s.optional(e, "entry_z", positive()),
        exit_z: s.optional(e, "exit_z", read::float_where(|x| x >= 0.0, ">= 0")),
        stop_z: s.optional(e, "stop_z", positive()),
        max_hold_half_lives: s.optional(e, "max_hold_half_lives", positive()),
        window_half_lives: s.optional(e, "window_half_lives", positive()),
        window_min_bars: s.optional(e, "window_min_bars", read::int_in(2..=i64::MAX)),
        window_max_bars: s.optional(e, "window_max_bars", read::int_in(2..=i64::MAX)),
    };
    s.finish(e);
    Some(config)
}

fn statarb_sizing(e: &mut Errors, mut s: Section) -> Option<StatArbSizing> {
    let fraction = || read::float_where(|x| x > 0.0 && x <= 1.0, "in (0, 1]");
    let config = StatArbSizing {
        kelly_multiplier: s.optional(
            e,
            "kelly_multiplier",
            read::float_where(|x| x >= 0.0, ">= 0"),
        ),
        per_pair_cap: s.optional(e, "per_pair_cap", fraction()),
        total_cap: s.optional(e, "total_cap", fraction()),
        default_fraction: s.optional(
            e,
            "default_fraction",
            read::float_where(|x| (0.0..=1.0).contains(&x), "in [0, 1]"),
        ),
        min_trades: s.optional(e, "min_trades", read::int_in(1..=i64::MAX)),
        capital_base: s.optional(e, "capital_base", read::choice(CAPITAL_BASES)),
    };
    s.finish(e);
    Some(config)
}

/// Reports a name (or address) seen before in the same list, pointing at the first one.
#[derive(Debug, Default)]
struct UniqueNames(HashMap<String, String>);

impl UniqueNames {
    fn check(&mut self, errors: &mut Errors, path: &str, name: &str) {
        self.check_as(errors, path, "name", &format!("{name:?}"));
    }

    fn check_address(&mut self, errors: &mut Errors, path: &str, address: &str) {
        self.check_as(errors, path, "address", address);
    }

    fn check_as(&mut self, errors: &mut Errors, path: &str, what: &str, shown: &str) {
        match self.0.get(shown) {
            Some(first) => {
                errors.push(path, format!("duplicate {what} {shown} (first at {first})"))
            }
            None => {
                self.0.insert(shown.to_owned(), path.to_owned());
            }
        }
    }
}
