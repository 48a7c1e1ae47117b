//! Test fixture: a private mosquitto broker on a free 127.0.0.1 port.
//!
//! Use from an integration test with `mod support;`. Only std is used.
//!
//! ```ignore
//! mod support;
//! use support::{Broker, BrokerConfig};
//!
//! let broker = Broker::start(BrokerConfig::new());
//! // connect to ("127.0.0.1", broker.port) ...
//! ```
//!
//! Every broker gets its own temp dir (config, log, password file,
//! persistence db), listens on 127.0.0.1 only, and is killed (by PID) and its
//! dir removed when the `Broker` is dropped. Set `EMQ_KEEP_BROKER_DIR=1` to
//! keep the dir for debugging.
#![allow(dead_code)]

pub mod proxy;
pub mod recorder;

use std::fs;
use std::io::Write;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread::sleep;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// The host every test broker listens on.
pub const HOST: &str = "127.0.0.1";

/// How long `start` waits for the broker to accept connections.
const READY_TIMEOUT: Duration = Duration::from_secs(5);
/// Poll interval while waiting for the broker.
const READY_POLL: Duration = Duration::from_millis(20);
/// How many times `start` retries (new port each time unless one is fixed).
const START_ATTEMPTS: usize = 5;
/// How long a graceful stop (SIGTERM) may take before falling back to SIGKILL.
const STOP_TIMEOUT: Duration = Duration::from_secs(5);

static COUNTER: AtomicUsize = AtomicUsize::new(0);

/// Configuration of a test broker. Builder style:
/// `BrokerConfig::new().user("u", "p").persistence(true)`.
#[derive(Clone, Debug, Default)]
pub struct BrokerConfig {
    /// (username, password) pairs. When set, a password file is generated with
    /// `mosquitto_passwd` and anonymous clients are refused.
    pub password_file: Option<Vec<(String, String)>>,
    /// Enable mosquitto persistence (stored in the broker's temp dir, kept
    /// across `restart`).
    pub persistence: bool,
    /// `max_inflight_messages` (broker -> client QoS 1/2 in flight).
    pub max_inflight: Option<u16>,
    /// Raw config lines appended to mosquitto.conf.
    pub extra: Vec<String>,
    /// Use this port instead of picking a free one.
    pub port: Option<u16>,
}

impl BrokerConfig {
    pub fn new() -> Self {
        Self::default()
    }

    /// Replace the whole user list (enables authentication).
    pub fn password_file(mut self, users: Vec<(String, String)>) -> Self {
        self.password_file = Some(users);
        self
    }

    /// Add one user (enables authentication).
    pub fn user(mut self, username: &str, password: &str) -> Self {
        self.password_file
            .get_or_insert_with(Vec::new)
            .push((username.to_string(), password.to_string()));
        self
    }

    pub fn persistence(mut self, on: bool) -> Self {
        self.persistence = on;
        self
    }

    pub fn max_inflight(mut self, n: u16) -> Self {
        self.max_inflight = Some(n);
        self
    }

    /// Append one raw config line.
    pub fn extra(mut self, line: &str) -> Self {
        self.extra.push(line.to_string());
        self
    }

    pub fn port(mut self, port: u16) -> Self {
        self.port = Some(port);
        self
    }
}

/// A running private mosquitto. Killed and cleaned up on drop.
pub struct Broker {
    pub port: u16,
    child: Child,
    dir: PathBuf,
    cfg: BrokerConfig,
    running: bool,
}

/// Find an executable: first on PATH, then in the sbin dirs Debian uses
/// (which may not be on a normal user's PATH).
fn find_program(name: &str) -> Option<PathBuf> {
    let mut candidates: Vec<PathBuf> = Vec::new();
    if let Some(path) = std::env::var_os("PATH") {
        candidates.extend(std::env::split_paths(&path).map(|d| d.join(name)));
    }
    for d in [
        "/usr/sbin",
        "/usr/local/sbin",
        "/sbin",
        "/usr/bin",
        "/usr/local/bin",
    ] {
        candidates.push(Path::new(d).join(name));
    }
    candidates.into_iter().find(|p| {
        fs::metadata(p)
            .map(|m| m.is_file() && m.mode() & 0o111 != 0)
            .unwrap_or(false)
    })
}

fn mosquitto_bin() -> PathBuf {
    find_program("mosquitto").unwrap_or_else(|| {
        panic!(
            "mosquitto not found (looked on PATH and in /usr/sbin); \
             run scripts/install-deps.sh"
        )
    })
}

/// True when a mosquitto binary can be found.
pub fn mosquitto_available() -> bool {
    find_program("mosquitto").is_some()
}

/// True when `mosquitto_passwd` can be found (needed for `password_file`).
pub fn mosquitto_passwd_available() -> bool {
    find_program("mosquitto_passwd").is_some()
}

/// For tests that need a broker: returns true when mosquitto is available.
/// When it is not, panics (so CI cannot silently skip), unless
/// `EMQ_ALLOW_NO_BROKER=1` is set, in which case it prints a note and returns
/// false so the test can return early.
pub fn require_mosquitto() -> bool {
    if mosquitto_available() {
        return true;
    }
    if std::env::var("EMQ_ALLOW_NO_BROKER").as_deref() == Ok("1") {
        eprintln!("mosquitto not available: skipping (EMQ_ALLOW_NO_BROKER=1)");
        return false;
    }
    panic!(
        "mosquitto not found; run scripts/install-deps.sh (or set EMQ_ALLOW_NO_BROKER=1 to skip)"
    );
}

fn unique_temp_dir() -> PathBuf {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let n = COUNTER.fetch_add(1, Ordering::SeqCst);
    let dir = std::env::temp_dir().join(format!(
        "embermq-broker-{}-{}-{}",
        std::process::id(),
        n,
        nanos
    ));
    fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("creating {}: {e}", dir.display()));
    dir
}

fn free_port() -> u16 {
    let l = TcpListener::bind((HOST, 0)).expect("binding 127.0.0.1:0");
    l.local_addr().expect("local_addr").port()
    // listener dropped here; mosquitto binds the port next
}

fn read_lossy(p: &Path) -> String {
    fs::read(p)
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .unwrap_or_default()
}

fn write_password_file(dir: &Path, users: &[(String, String)]) -> PathBuf {
    let file = dir.join("passwd");
    let bin = find_program("mosquitto_passwd").unwrap_or_else(|| {
        panic!("mosquitto_passwd not found; run scripts/install-deps.sh (mosquitto package)")
    });
    // mosquitto_passwd refuses to create an empty file, so with no users we
    // write an empty file ourselves: every login is then refused.
    if users.is_empty() {
        fs::write(&file, b"").expect("writing empty password file");
    }
    for (i, (user, pass)) in users.iter().enumerate() {
        let mut cmd = Command::new(&bin);
        cmd.arg("-b");
        if i == 0 {
            cmd.arg("-c");
        }
        let out = cmd
            .arg(&file)
            .arg(user)
            .arg(pass)
            .stdin(Stdio::null())
            .output()
            .expect("running mosquitto_passwd");
        assert!(
            out.status.success(),
            "mosquitto_passwd failed for user {user:?}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    file
}

fn write_config(dir: &Path, cfg: &BrokerConfig, port: u16, passwd: Option<&Path>) -> PathBuf {
    let mut c = String::new();
    c.push_str(&format!("listener {port} {HOST}\n"));
    match passwd {
        Some(p) => {
            c.push_str("allow_anonymous false\n");
            c.push_str(&format!("password_file {}\n", p.display()));
        }
        None => c.push_str("allow_anonymous true\n"),
    }
    // Running as root, mosquitto would switch to the `mosquitto` user and
    // then be unable to use our root-owned temp dir. Stay root instead.
    let owner_is_root = fs::metadata(dir).map(|m| m.uid() == 0).unwrap_or(false);
    if owner_is_root {
        c.push_str("user root\n");
    }
    c.push_str(&format!(
        "log_dest file {}\n",
        dir.join("mosquitto.log").display()
    ));
    c.push_str("log_type all\n");
    c.push_str("connection_messages true\n");
    c.push_str("max_queued_messages 100000\n");
    if cfg.persistence {
        c.push_str("persistence true\n");
        // mosquitto wants a trailing slash on the location.
        c.push_str(&format!("persistence_location {}/\n", dir.display()));
    } else {
        c.push_str("persistence false\n");
    }
    if let Some(n) = cfg.max_inflight {
        c.push_str(&format!("max_inflight_messages {n}\n"));
    }
    for line in &cfg.extra {
        c.push_str(line);
        c.push('\n');
    }
    let conf = dir.join("mosquitto.conf");
    let mut f = fs::File::create(&conf).expect("creating mosquitto.conf");
    f.write_all(c.as_bytes()).expect("writing mosquitto.conf");
    conf
}

/// Why one start attempt failed.
enum StartError {
    /// The process exited (most likely the port was taken): retryable.
    Exited(String),
    /// It runs but never accepted a connection in time.
    Timeout(String),
}

/// Start mosquitto once in `dir` on `port`; wait until it accepts.
fn spawn_once(dir: &Path, cfg: &BrokerConfig, port: u16) -> Result<Child, StartError> {
    let passwd = cfg
        .password_file
        .as_ref()
        .map(|users| write_password_file(dir, users));
    let conf = write_config(dir, cfg, port, passwd.as_deref());
    let stderr_path = dir.join("stderr.log");
    let stdout = fs::File::create(dir.join("stdout.log")).expect("creating stdout.log");
    let stderr = fs::File::create(&stderr_path).expect("creating stderr.log");
    let mut child = Command::new(mosquitto_bin())
        .arg("-c")
        .arg(&conf)
        .stdin(Stdio::null())
        .stdout(Stdio::from(stdout))
        .stderr(Stdio::from(stderr))
        .spawn()
        .expect("spawning mosquitto");

    let addr: SocketAddr = (std::net::Ipv4Addr::LOCALHOST, port).into();
    let deadline = Instant::now() + READY_TIMEOUT;
    let describe = |what: &str| {
        format!(
            "{what}\n--- {}/mosquitto.log ---\n{}\n--- stderr ---\n{}",
            dir.display(),
            read_lossy(&dir.join("mosquitto.log")),
            read_lossy(&stderr_path)
        )
    };
    loop {
        if let Ok(Some(status)) = child.try_wait() {
            return Err(StartError::Exited(describe(&format!(
                "mosquitto on port {port} exited early with {status}"
            ))));
        }
        if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
            // Make sure it was our broker that answered, not a port thief.
            sleep(READY_POLL);
            if let Ok(Some(status)) = child.try_wait() {
                return Err(StartError::Exited(describe(&format!(
                    "mosquitto on port {port} exited early with {status}"
                ))));
            }
            return Ok(child);
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            return Err(StartError::Timeout(describe(&format!(
                "mosquitto did not accept connections on port {port} within {READY_TIMEOUT:?}"
            ))));
        }
        sleep(READY_POLL);
    }
}

/// Start with retries (a new free port each time unless `cfg.port` is set).
fn spawn_with_retries(dir: &Path, cfg: &BrokerConfig) -> (Child, u16) {
    let mut last = String::new();
    for attempt in 1..=START_ATTEMPTS {
        let port = cfg.port.unwrap_or_else(free_port);
        match spawn_once(dir, cfg, port) {
            Ok(child) => return (child, port),
            Err(StartError::Exited(msg)) | Err(StartError::Timeout(msg)) => {
                last = format!("attempt {attempt}/{START_ATTEMPTS}: {msg}");
                // A fixed port may still be held briefly: back off a little.
                sleep(Duration::from_millis(100 * attempt as u64));
            }
        }
    }
    panic!("could not start mosquitto after {START_ATTEMPTS} attempts; last: {last}");
}

impl Broker {
    /// Start a private broker. Panics (with the broker's log) if it can't.
    pub fn start(cfg: BrokerConfig) -> Broker {
        let dir = unique_temp_dir();
        let (child, port) = spawn_with_retries(&dir, &cfg);
        let mut cfg = cfg;
        // Pin the port so `restart` comes back on the same one.
        cfg.port = Some(port);
        Broker {
            port,
            child,
            dir,
            cfg,
            running: true,
        }
    }

    /// Start a broker with the default config (anonymous, no persistence).
    pub fn start_default() -> Broker {
        Broker::start(BrokerConfig::new())
    }

    pub fn host(&self) -> &'static str {
        HOST
    }

    pub fn addr(&self) -> SocketAddr {
        (std::net::Ipv4Addr::LOCALHOST, self.port).into()
    }

    /// The broker's temp dir (config, log, password file, persistence db).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn is_running(&self) -> bool {
        self.running
    }

    /// Stop the broker gracefully: SIGTERM to its PID (mosquitto then saves
    /// its persistence db), wait up to 5 s, then SIGKILL (`child.kill()`).
    pub fn stop(&mut self) {
        if !self.running {
            return;
        }
        self.running = false;
        if let Ok(Some(_)) = self.child.try_wait() {
            return;
        }
        let pid = self.child.id().to_string();
        let termed = Command::new("kill")
            .args(["-TERM", &pid])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .map(|s| s.success())
            .unwrap_or(false);
        if termed {
            let deadline = Instant::now() + STOP_TIMEOUT;
            while Instant::now() < deadline {
                if let Ok(Some(_)) = self.child.try_wait() {
                    return;
                }
                sleep(READY_POLL);
            }
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Kill the broker abruptly (SIGKILL, no persistence save): a crash.
    pub fn kill(&mut self) {
        if !self.running {
            return;
        }
        self.running = false;
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Stop, then start again on the same port with the same config and dir
    /// (so a persistence db survives).
    pub fn restart(&mut self) {
        self.stop();
        self.start_again();
    }

    /// Start again after `stop`/`kill`, on the same port and dir.
    pub fn start_again(&mut self) {
        assert!(!self.running, "broker is already running");
        let (child, port) = spawn_with_retries(&self.dir, &self.cfg);
        self.child = child;
        self.port = port;
        self.running = true;
    }

    /// The broker's log file so far.
    pub fn log(&self) -> String {
        read_lossy(&self.dir.join("mosquitto.log"))
    }

    /// Wait (bounded) until the log contains `needle`; true if it did.
    pub fn wait_for_log(&self, needle: &str, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        loop {
            if self.log().contains(needle) {
                return true;
            }
            if Instant::now() >= deadline {
                return false;
            }
            sleep(READY_POLL);
        }
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        if self.running {
            let _ = self.child.kill();
            let _ = self.child.wait();
            self.running = false;
        }
        if std::env::var_os("EMQ_KEEP_BROKER_DIR").is_some() {
            eprintln!("keeping broker dir {}", self.dir.display());
        } else {
            let _ = fs::remove_dir_all(&self.dir);
        }
    }
}

/// Reads one whole MQTT packet (bounded by the stream's read timeout).
pub fn read_packet(stream: &mut std::net::TcpStream) -> Vec<u8> {
    use std::io::Read;
    let mut packet = vec![0u8; 2];
    stream.read_exact(&mut packet).unwrap();
    let mut len = usize::from(packet[1] & 0x7f);
    let mut shift = 7;
    while packet[packet.len() - 1] & 0x80 != 0 {
        let mut byte = [0u8];
        stream.read_exact(&mut byte).unwrap();
        packet.push(byte[0]);
        len |= usize::from(byte[0] & 0x7f) << shift;
        shift += 7;
    }
    let header = packet.len();
    packet.resize(header + len, 0);
    stream.read_exact(&mut packet[header..]).unwrap();
    packet
}
