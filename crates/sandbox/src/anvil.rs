//! A local anvil chain for tests and the sandbox: started on a free loopback port with manual
//! mining, killed when the handle drops, plus the anvil-only RPC helpers the deployers use.

use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use alloy::providers::Provider;
use alloy_primitives::{Address, U256};
use anyhow::{Context, bail};

use crate::tools;

/// Chain id anvil runs with: Sepolia's, so signed payloads look like the dry-run target's.
pub const CHAIN_ID: u64 = 11_155_111;

/// How long a freshly spawned anvil may take to answer `eth_chainId`.
const READY_TIMEOUT: Duration = Duration::from_secs(10);

/// Spawn attempts: a port picked as free can be taken by someone else before anvil binds it.
const START_ATTEMPTS: usize = 3;

/// Private keys of anvil's ten default dev accounts (mnemonic "test test … junk", path
/// m/44'/60'/0'/0/i), as printed by anvil 1.7.1 at start-up. Public test keys: never fund them
/// on a real network.
const DEV_KEYS: [&str; 10] = [
    "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80",
    "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d",
    "0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a",
    "0x7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6",
    "0x47e179ec197488593b187f80a00eb0da91f1b9d0b13f8733639f19c30a34926a",
    "0x8b3a350cf5c34c9194ca85829a2df0ec3153be0318b5e2d3348e872092edffba",
    "0x92db14e403b83dfe3df233f83dfa3a0d7096f21ca9b0d6d6b8d88b2b4ec1564e",
    "0x4bbbf85ce3377467afe5d46f804f221813b2bb87f24d81f60f1fcdbf7cbf4356",
    "0xdbda1821b80551c9d65939329250298aa3472ba22feea921c0cf5d620ea67b97",
    "0x2a871d0798f97d79848a013d4936a73bf4cc922c825d33c1cf7073dff6d409c6",
];

/// A running anvil child process; dropping the handle kills it.
#[derive(Debug)]
pub struct Anvil {
    child: Child,
    port: u16,
    ipc: Option<std::path::PathBuf>,
}

impl Anvil {
    /// Number of dev accounts (and keys from [`Anvil::dev_key`]) anvil starts with.
    pub const DEV_ACCOUNTS: usize = DEV_KEYS.len();

    /// Starts anvil (installing it first if needed) with `--no-mining` and FIFO ordering on a
    /// free loopback port, and waits until it answers `eth_chainId`. Blocks for about 0.1 s.
    pub fn start() -> anyhow::Result<Self> {
        Self::start_inner(None)
    }

    /// Like [`Anvil::start`], also serving JSON-RPC on a Unix socket at `ipc` (see
    /// [`Anvil::ipc_path`]).
    pub fn start_with_ipc(ipc: &std::path::Path) -> anyhow::Result<Self> {
        Self::start_inner(Some(ipc))
    }

    /// The IPC socket path, when started with one.
    pub fn ipc_path(&self) -> Option<&std::path::Path> {
        self.ipc.as_deref()
    }

    fn start_inner(ipc: Option<&std::path::Path>) -> anyhow::Result<Self> {
        tools::ensure_installed()?;
        let mut last_error = None;
        for _ in 0..START_ATTEMPTS {
            let port = free_port()?;
            match Self::spawn(port, ipc) {
                Ok(anvil) => return Ok(anvil),
                Err(e) => last_error = Some(e),
            }
        }
        Err(last_error.unwrap_or_else(|| anyhow::anyhow!("anvil did not start")))
    }

    fn spawn(port: u16, ipc: Option<&std::path::Path>) -> anyhow::Result<Self> {
        let bin = tools::anvil_bin();
        let mut cmd = Command::new(&bin);
        cmd.args(["--chain-id", &CHAIN_ID.to_string()])
            .args(["--no-mining", "--hardfork", "prague", "--host", "127.0.0.1"])
            .args(["--port", &port.to_string(), "--quiet", "--order", "fifo"]);
        if let Some(path) = ipc {
            cmd.arg("--ipc").arg(path);
        }
        let child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .with_context(|| format!("spawning {}", bin.display()))?;
        // Owned from here on, so an early return below still kills the child.
        let mut anvil = Self {
            child,
            port,
            ipc: ipc.map(std::path::Path::to_path_buf),
        };
        anvil.wait_ready()?;
        Ok(anvil)
    }

    fn wait_ready(&mut self) -> anyhow::Result<()> {
        let deadline = Instant::now() + READY_TIMEOUT;
        loop {
            if let Some(status) = self.child.try_wait()? {
                bail!(
                    "anvil exited before it was ready ({status}) on port {}",
                    self.port
                );
            }
            if let Some(chain_id) = probe_chain_id(self.port) {
                if chain_id != CHAIN_ID {
                    bail!(
                        "port {} answers with chain id {chain_id}, not anvil's {CHAIN_ID}",
                        self.port
                    );
                }
                // Another test process may have probed the same free port and started its own
                // anvil there first: then ours fails to bind and exits, while the port answers
                // for the other one. Make sure the anvil answering is still ours.
                std::thread::sleep(BIND_SETTLE);
                if let Some(status) = self.child.try_wait()? {
                    bail!(
                        "anvil exited after port {} answered ({status}): another process \
                         holds the port",
                        self.port
                    );
                }
                return Ok(());
            }
            if Instant::now() >= deadline {
                bail!(
                    "anvil on port {} not ready after {READY_TIMEOUT:?}",
                    self.port
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The loopback port anvil listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// JSON-RPC over HTTP.
    pub fn http_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// JSON-RPC over WebSocket (anvil serves both on one port).
    pub fn ws_url(&self) -> String {
        format!("ws://127.0.0.1:{}", self.port)
    }

    /// The private key (0x-hex) of anvil's default dev account `index`.
    ///
    /// # Panics
    /// If `index >= Anvil::DEV_ACCOUNTS`: the callers are tests and the sandbox, which pick
    /// fixed indices.
    pub fn dev_key(index: usize) -> String {
        match DEV_KEYS.get(index) {
            Some(key) => (*key).to_owned(),
            None => panic!(
                "anvil has {} dev accounts, not {}",
                DEV_KEYS.len(),
                index + 1
            ),
        }
    }
}

impl Drop for Anvil {
    fn drop(&mut self) {
        // Already exited is fine; the wait reaps the child so no zombie is left.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Mines one block (`evm_mine`); with `--no-mining` nothing is included until this is called.
pub async fn mine<P: Provider>(provider: &P) -> anyhow::Result<()> {
    let _: String = provider
        .raw_request("evm_mine".into(), ())
        .await
        .context("evm_mine")?;
    Ok(())
}

/// Sets `address`'s ETH balance to exactly `wei` (`anvil_setBalance`).
pub async fn set_balance<P: Provider>(
    provider: &P,
    address: Address,
    wei: U256,
) -> anyhow::Result<()> {
    let _: serde_json::Value = provider
        .raw_request("anvil_setBalance".into(), (address, wei))
        .await
        .with_context(|| format!("anvil_setBalance {address}"))?;
    Ok(())
}

/// Sets the fee recipient of the blocks anvil mines from now on (`anvil_setCoinbase`).
pub async fn set_coinbase<P: Provider>(provider: &P, address: Address) -> anyhow::Result<()> {
    let _: serde_json::Value = provider
        .raw_request("anvil_setCoinbase".into(), (address,))
        .await
        .with_context(|| format!("anvil_setCoinbase {address}"))?;
    Ok(())
}

/// How long after the port first answers an anvil that lost the port to another would have
/// exited.
const BIND_SETTLE: Duration = Duration::from_millis(60);

/// A loopback port that was free a moment ago (the OS picks it for a throwaway listener).
fn free_port() -> anyhow::Result<u16> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).context("binding a probe port")?;
    Ok(listener.local_addr()?.port())
}

/// One blocking `eth_chainId` over plain HTTP/1.1. A std-only probe, so `start` needs no async
/// runtime; `None` while nothing (or not anvil yet) answers.
fn probe_chain_id(port: u16) -> Option<u64> {
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_millis(200)).ok()?;
    stream
        .set_read_timeout(Some(Duration::from_millis(500)))
        .ok()?;
    let body = r#"{"jsonrpc":"2.0","id":1,"method":"eth_chainId","params":[]}"#;
    let request = format!(
        "POST / HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    let json_start = response.find("\r\n\r\n")? + 4;
    let json: serde_json::Value = serde_json::from_str(response.get(json_start..)?).ok()?;
    let hex = json.get("result")?.as_str()?.strip_prefix("0x")?;
    u64::from_str_radix(hex, 16).ok()
}
