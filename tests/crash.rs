//! `kill -9` at random moments, on a real `lambkin serve`: clients create functions with fresh
//! code, publish versions while that code compiles, point aliases at them, update code and
//! configuration; the server is killed after a random delay and started again on the same data
//! directory. Whatever was acknowledged (a 2xx) reads back as it was answered, every version
//! settles (nothing stays Pending/InProgress), every acknowledged version and alias invokes, and
//! nothing half-written or orphaned is left on disk.
//!
//! The delays come from a seeded generator: the seed is printed and `LAMBKIN_CRASH_SEED` replays
//! it; `LAMBKIN_CRASH_ROUNDS` changes the number of rounds.

mod support;

use base64::Engine as _;
use serde_json::{Value, json};
use sha2::Digest;
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use support::process::{Reaped, comes_up, free_port, request, serve};

/// Examples that answer `{}` without an error.
const EXAMPLES: [&str; 3] = ["hello", "echo", "counter"];
/// Client threads per round.
const CLIENTS: u64 = 2;

/// xorshift64*: small, seeded, reproducible.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// What the server acknowledged about one function.
#[derive(Debug, Default)]
struct Acked {
    /// The CodeSha256 $LATEST may have: the last acknowledged, then any sent since.
    latest_codes: Vec<String>,
    /// Published version → its CodeSha256.
    versions: BTreeMap<u64, String>,
    /// Alias → its version.
    aliases: BTreeMap<String, u64>,
    /// The value of the variable `ROUND` an acknowledged configuration update set.
    variable: Option<String>,
}

type Ledger = Arc<Mutex<BTreeMap<String, Acked>>>;

/// An example's component with a custom section of its own: the same function, fresh code (a
/// new hash, so a new compile).
fn fresh_code(example: &str, tag: &str) -> (String, String) {
    let mut wasm = support::example_bytes(example);
    let name = b"lambkin-crash";
    let content_len = 1 + name.len() + tag.len();
    assert!(content_len < 128 && name.len() < 128, "one-byte LEB128 sizes");
    wasm.extend_from_slice(&[0, content_len as u8, name.len() as u8]);
    wasm.extend_from_slice(name);
    wasm.extend_from_slice(tag.as_bytes());
    let sha = base64::engine::general_purpose::STANDARD.encode(sha2::Sha256::digest(&wasm));
    (base64::engine::general_purpose::STANDARD.encode(&wasm), sha)
}

/// One request: its status and JSON body, or None when the server did not answer.
fn call(port: u16, method: &str, path: &str, body: &Value) -> Option<(u16, Value)> {
    let body = if body.is_null() {
        String::new()
    } else {
        body.to_string()
    };
    let response = request(port, method, path, "", &body)?;
    let status = response.get(9..12)?.parse().ok()?;
    let (_, text) = response.split_once("\r\n\r\n")?;
    Some((status, serde_json::from_str(text).unwrap_or(Value::Null)))
}

fn ok(status: u16) -> bool {
    (200..300).contains(&status)
}

/// One client: functions one after the other, each through the whole workload, until the
/// server stops answering. Records every acknowledged call in `ledger`.
fn client(port: u16, round: u64, client: u64, ledger: &Ledger) {
    let mut rng = Rng::new(round * 1000 + client);
    for n in 0.. {
        let name = format!("r{round}c{client}n{n}");
        let example = EXAMPLES[rng.below(EXAMPLES.len() as u64) as usize];
        if workload(port, &name, example, ledger).is_none() {
            return;
        }
    }
}

/// Create → PublishVersion → CreateAlias → UpdateFunctionCode → PublishVersion → CreateAlias →
/// UpdateFunctionConfiguration; None once the server is gone.
fn workload(port: u16, name: &str, example: &str, ledger: &Ledger) -> Option<()> {
    let record = |f: &mut dyn FnMut(&mut Acked)| f(ledger.lock().unwrap().entry(name.into()).or_default());
    let base = format!("/2015-03-31/functions/{name}");
    let (zip, sha) = fresh_code(example, &format!("{name}-1"));
    let create = json!({
        "FunctionName": name,
        "Role": "arn:aws:iam::000000000000:role/lambda-role",
        "Runtime": "provided.al2023",
        "Handler": format!("{example}.wasm"),
        "Code": { "ZipFile": zip },
    });
    let (status, _) = call(port, "POST", "/2015-03-31/functions", &create)?;
    assert!(status != 400, "CreateFunction {name}: {status}");
    if !ok(status) {
        return Some(());
    }
    record(&mut |a| a.latest_codes = vec![sha.clone()]);
    for (version_step, alias) in [(1, "live"), (2, "next")] {
        if version_step == 2 {
            let (zip, sha) = fresh_code(example, &format!("{name}-2"));
            record(&mut |a| a.latest_codes.push(sha.clone()));
            let (status, _) = call(port, "PUT", &format!("{base}/code"), &json!({ "ZipFile": zip }))?;
            if ok(status) {
                record(&mut |a| a.latest_codes = vec![sha.clone()]);
            }
        }
        let (status, published) = call(port, "POST", &format!("{base}/versions"), &json!({}))?;
        if !ok(status) {
            continue;
        }
        let version: u64 = published["Version"]
            .as_str()
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("PublishVersion {name}: {published}"));
        let code = published["CodeSha256"].as_str().unwrap_or_default().to_string();
        record(&mut |a| {
            a.versions.insert(version, code.clone());
        });
        let alias_input = json!({ "Name": alias, "FunctionVersion": version.to_string() });
        let (status, _) = call(port, "POST", &format!("{base}/aliases"), &alias_input)?;
        if ok(status) {
            record(&mut |a| {
                a.aliases.insert(alias.into(), version);
            });
        }
    }
    // Refused (409) while the code is in progress: tried again for a while.
    let value = format!("{name}-config");
    let input = json!({ "Environment": { "Variables": { "ROUND": value } } });
    let deadline = Instant::now() + Duration::from_secs(2);
    while Instant::now() < deadline {
        let (status, _) = call(port, "PUT", &format!("{base}/configuration"), &input)?;
        if ok(status) {
            record(&mut |a| a.variable = Some(value.clone()));
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Some(())
}

/// The configuration of `qualifier`, once it is no longer in progress (at most `deadline`).
fn settled(port: u16, name: &str, qualifier: &str, deadline: Instant) -> Value {
    let path = format!("/2015-03-31/functions/{name}/configuration?Qualifier={qualifier}");
    loop {
        let (status, config) = call(port, "GET", &path, &Value::Null).expect("the server answers");
        assert_eq!(
            status, 200,
            "GetFunctionConfiguration {name}:{qualifier}: {config}"
        );
        if config["State"] != "Pending" && config["LastUpdateStatus"] != "InProgress" {
            return config;
        }
        assert!(
            Instant::now() < deadline,
            "{name}:{qualifier} never settled: {config}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn invokes(port: u16, name: &str, qualifier: &str) {
    let path = format!("/2015-03-31/functions/{name}/invocations?Qualifier={qualifier}");
    let response = request(port, "POST", &path, "", "{}").expect("the server answers");
    assert!(
        response.starts_with("HTTP/1.1 200")
            && !response.to_ascii_lowercase().contains("x-amz-function-error"),
        "Invoke {name}:{qualifier}: {response}"
    );
}

/// Checks everything acknowledged so far; invokes the functions whose name starts with `invoke`.
fn check(port: u16, ledger: &Ledger, invoke: &str) {
    let deadline = Instant::now() + Duration::from_secs(60);
    for (name, acked) in ledger.lock().unwrap().iter() {
        let (status, body) = call(
            port,
            "GET",
            &format!("/2015-03-31/functions/{name}"),
            &Value::Null,
        )
        .expect("the server answers");
        assert_eq!(status, 200, "GetFunction {name}: {body}");
        let latest = settled(port, name, "$LATEST", deadline);
        assert_eq!(latest["State"], "Active", "{name}: {latest}");
        assert_eq!(latest["LastUpdateStatus"], "Successful", "{name}: {latest}");
        let code = latest["CodeSha256"].as_str().unwrap_or_default().to_string();
        assert!(
            acked.latest_codes.contains(&code),
            "{name}: $LATEST has code {code}, acknowledged {:?}",
            acked.latest_codes
        );
        if let Some(value) = &acked.variable {
            assert_eq!(
                latest["Environment"]["Variables"]["ROUND"],
                value.as_str(),
                "{name}: {latest}"
            );
        }
        for (version, sha) in &acked.versions {
            let config = settled(port, name, &version.to_string(), deadline);
            assert_eq!(config["State"], "Active", "{name}:{version}: {config}");
            assert_eq!(
                config["LastUpdateStatus"], "Successful",
                "{name}:{version}: {config}"
            );
            assert_eq!(config["CodeSha256"], sha.as_str(), "{name}:{version}");
        }
        for (alias, version) in &acked.aliases {
            let path = format!("/2015-03-31/functions/{name}/aliases/{alias}");
            let (status, body) = call(port, "GET", &path, &Value::Null).expect("the server answers");
            assert_eq!(status, 200, "GetAlias {name}:{alias}: {body}");
            assert_eq!(body["FunctionVersion"], version.to_string(), "{name}:{alias}");
        }
        if name.starts_with(invoke) {
            let qualifiers = acked
                .versions
                .keys()
                .map(u64::to_string)
                .chain(acked.aliases.keys().cloned());
            for qualifier in qualifiers {
                invokes(port, name, &qualifier);
            }
        }
    }
}

/// Files under `dir` named like object_store's staging uploads (`<path>#<digits>`).
fn staging_files(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            found.extend(staging_files(&path));
        } else if path
            .file_name()
            .and_then(|n| n.to_str())
            .and_then(|n| n.rsplit_once('#'))
            .is_some_and(|(_, n)| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
        {
            found.push(path);
        }
    }
    found
}

/// The default environments directories of process `pid` in the system's temporary directory.
fn environments_dirs_of(pid: u32) -> Vec<std::path::PathBuf> {
    let prefix = format!("lambkin-environments-{pid}-");
    std::fs::read_dir(std::env::temp_dir())
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| e.file_name().to_str().is_some_and(|n| n.starts_with(&prefix)))
        .map(|e| e.path())
        .collect()
}

#[test]
fn acknowledged_writes_survive_kill_9_and_every_version_settles() {
    let seed: u64 = std::env::var("LAMBKIN_CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20_261_201);
    let rounds: u64 = std::env::var("LAMBKIN_CRASH_ROUNDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20);
    println!("crash test: seed {seed} (LAMBKIN_CRASH_SEED), {rounds} rounds");
    for example in EXAMPLES {
        support::example_bytes(example);
    }
    let data = tempfile::tempdir().expect("tempdir");
    let ledger: Ledger = Arc::default();
    let mut rng = Rng::new(seed);
    let mut killed = Vec::new();
    for round in 0..=rounds {
        let port = free_port();
        let mut server = Reaped(serve(port, data.path(), &[]));
        comes_up(port);
        // What the rounds before acknowledged, after their kill; the last check invokes all.
        let invoke = match round {
            0 => "-".to_string(),
            _ if round == rounds => String::new(),
            _ => format!("r{}c", round - 1),
        };
        check(port, &ledger, &invoke);
        if round == rounds {
            // SIGTERM: a server that stops removes its own environments directory.
            let stopped = std::process::Command::new("kill")
                .arg(server.0.id().to_string())
                .status()
                .expect("kill");
            assert!(stopped.success());
            let _ = server.0.wait();
            break;
        }
        // A half-written upload as a kill leaves it: the next start removes it.
        std::fs::create_dir_all(data.path().join("functions")).expect("mkdir");
        std::fs::write(
            data.path()
                .join(format!("functions/planted-{round}.json#{round}")),
            b"{",
        )
        .expect("plant a staging file");
        let clients: Vec<_> = (0..CLIENTS)
            .map(|c| {
                let ledger = ledger.clone();
                std::thread::spawn(move || client(port, round, c, &ledger))
            })
            .collect();
        let delay = Duration::from_millis(200 + rng.below(2300));
        println!("round {round}: kill -9 after {delay:?}");
        std::thread::sleep(delay);
        killed.push(server.0.id());
        server.0.kill().expect("kill -9");
        let _ = server.0.wait();
        for client in clients {
            client.join().expect("a client thread");
        }
    }
    let acked = ledger.lock().unwrap();
    let versions: usize = acked.values().map(|a| a.versions.len()).sum();
    let aliases: usize = acked.values().map(|a| a.aliases.len()).sum();
    println!(
        "{} functions, {versions} versions, {aliases} aliases acknowledged",
        acked.len()
    );
    assert!(
        versions >= rounds as usize,
        "the workload published too little to test anything"
    );
    assert_eq!(
        staging_files(data.path()),
        Vec::<std::path::PathBuf>::new(),
        "staging files left"
    );
    // The last server was killed too: only those before it were swept by a start.
    for pid in &killed {
        assert_eq!(
            environments_dirs_of(*pid),
            Vec::<std::path::PathBuf>::new(),
            "pid {pid}'s environments"
        );
    }
}
