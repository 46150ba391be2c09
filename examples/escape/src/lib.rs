//! escape: a guest that tries every way out of its sandbox it can think of — host paths, `..`,
//! symlinks, hard links, renames, sockets, DNS, writes to the read-only layers at /opt — and
//! reports each attempt: whether it succeeded, the error, and what it got. It also leaves a secret
//! (in /tmp and in its log) and hunts for the secrets of others.
//!
//! Attempts that would damage the host if they succeeded (renames, writes) aim at `bait.txt` in the
//! data directory the event names, never at a system file. Nothing here is meant to run natively.

use serde::Deserialize;
use serde_json::{Map, Value, json};
use std::fs::{self, OpenOptions};
use std::io::{self, Write};
use std::net::{TcpListener, TcpStream, ToSocketAddrs, UdpSocket};

/// Enough `..` to climb from any host directory behind /tmp to the host's root.
const UP_TO_ROOT: &str = "../../../../../../../../../../../..";

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct Event {
    /// Groups of attempts to make: "paths", "traversal", "symlinks", "links", "sockets", "opt".
    pub attempt: Vec<String>,
    /// The host's data directory (which holds `bait.txt`), to try to reach it.
    pub data_dir: Option<String>,
    /// Ports on 127.0.0.1 to try to connect to.
    pub ports: Vec<u16>,
    /// Look for `secret.txt` files anywhere reachable (before leaving our own).
    pub hunt: bool,
    /// Left in /tmp/secret.txt and printed to stdout and stderr.
    pub secret: Option<String>,
}

#[lambkin::handler]
pub fn escape(event: Event, _ctx: &lambkin::Context) -> Result<Value, lambkin::Error> {
    let found = if event.hunt { hunt() } else { Vec::new() };
    let data = event
        .data_dir
        .clone()
        .unwrap_or_else(|| "/nonexistent".to_string());
    let mut report = Report::default();
    report.record("create /tmp/control.txt", write("/tmp/control.txt"));
    for group in &event.attempt {
        match group.as_str() {
            "paths" => paths(&mut report, &data),
            "traversal" => traversal(&mut report, &data),
            "symlinks" => symlinks(&mut report, &data),
            "links" => links(&mut report, &data),
            "sockets" => sockets(&mut report, &event.ports),
            "opt" => opt(&mut report),
            other => return Err(format!("unknown group of attempts: {other}").into()),
        }
    }
    if let Some(secret) = &event.secret {
        fs::write("/tmp/secret.txt", secret)?;
        println!("my secret is {secret}");
        eprintln!("my secret is {secret}");
    }
    let environment: Map<String, Value> = std::env::vars().map(|(k, v)| (k, Value::String(v))).collect();
    let args: Vec<String> = std::env::args().collect();
    Ok(json!({
        "attempts": report.attempts,
        "environment": environment,
        "args": args,
        "found": found,
    }))
}

/// Every attempt made, in order.
#[derive(Default)]
struct Report {
    attempts: Vec<Value>,
}

impl Report {
    fn record(&mut self, attempt: impl Into<String>, result: io::Result<String>) {
        let attempt = attempt.into();
        self.attempts.push(match result {
            Ok(output) => json!({ "attempt": attempt, "succeeded": true, "output": output }),
            Err(e) => json!({
                "attempt": attempt,
                "succeeded": false,
                "error": e.to_string(),
                "kind": format!("{:?}", e.kind()),
            }),
        });
    }

    /// Tries to read `path` as a file and to list it as a directory.
    fn read_and_list(&mut self, path: &str) {
        self.record(format!("read {path}"), read(path));
        self.record(format!("list {path}"), list(path));
    }
}

/// The first 512 bytes of a file, as text.
fn read(path: &str) -> io::Result<String> {
    let bytes = fs::read(path)?;
    Ok(String::from_utf8_lossy(&bytes[..bytes.len().min(512)]).into_owned())
}

/// The names in a directory.
fn list(path: &str) -> io::Result<String> {
    let mut names = Vec::new();
    for entry in fs::read_dir(path)? {
        names.push(entry?.file_name().to_string_lossy().into_owned());
    }
    names.sort();
    Ok(names.join(", "))
}

/// What `stat` says about a path (its existence is already a leak).
fn stat(path: &str) -> io::Result<String> {
    let metadata = fs::metadata(path)?;
    Ok(format!("dir: {}, len: {}", metadata.is_dir(), metadata.len()))
}

/// Creates (or truncates) a file with a marker in it.
fn write(path: &str) -> io::Result<String> {
    fs::write(path, b"written by the escape example")?;
    Ok(String::new())
}

/// Opens an existing file for writing, without changing it.
fn open_for_writing(path: &str) -> io::Result<String> {
    OpenOptions::new().write(true).open(path)?;
    Ok(String::new())
}

fn append(path: &str) -> io::Result<String> {
    OpenOptions::new()
        .append(true)
        .open(path)?
        .write_all(b"appended")?;
    Ok(String::new())
}

fn truncate(path: &str) -> io::Result<String> {
    OpenOptions::new().write(true).truncate(true).open(path)?;
    Ok(String::new())
}

fn done(result: io::Result<()>) -> io::Result<String> {
    result.map(|()| String::new())
}

/// symlink(2) through wasi-libc: std's `std::os::wasi::fs::symlink_path` is still unstable.
#[cfg(target_os = "wasi")]
fn symlink(target: &str, link: &str) -> io::Result<()> {
    use std::ffi::{CString, c_char, c_int};
    unsafe extern "C" {
        #[link_name = "symlink"]
        fn libc_symlink(target: *const c_char, link: *const c_char) -> c_int;
    }
    let (target, link) = (CString::new(target)?, CString::new(link)?);
    // SAFETY: two NUL-terminated strings that outlive the call.
    match unsafe { libc_symlink(target.as_ptr(), link.as_ptr()) } {
        0 => Ok(()),
        _ => Err(io::Error::last_os_error()),
    }
}

#[cfg(not(target_os = "wasi"))]
fn symlink(target: &str, link: &str) -> io::Result<()> {
    std::os::unix::fs::symlink(target, link)
}

/// A symlink at `link` to `target`, replacing whatever was there.
fn fresh_symlink(target: &str, link: &str) -> io::Result<String> {
    let _ = fs::remove_file(link);
    done(symlink(target, link))
}

/// `path` (absolute, on the host) as reached from /tmp by climbing to the host's root.
fn climbed(path: &str) -> String {
    format!("/tmp/{UP_TO_ROOT}/{}", path.trim_start_matches('/'))
}

/// Host paths named directly: no preopen but /tmp (and /opt with layers) exists.
fn paths(report: &mut Report, data: &str) {
    let bait = format!("{data}/bait.txt");
    for path in [
        "/",
        "/etc",
        "/etc/passwd",
        "/proc/self/environ",
        "/proc/self/mem",
        "/root",
        "/home",
        "/opt/..",
        "/opt/../etc/passwd",
        data,
        &bait,
    ] {
        report.read_and_list(path);
        report.record(format!("stat {path}"), stat(path));
    }
    report.record("open for writing /etc/passwd", open_for_writing("/etc/passwd"));
    report.record(
        "open for writing /proc/self/mem",
        open_for_writing("/proc/self/mem"),
    );
    report.record(format!("open for writing {bait}"), open_for_writing(&bait));
    report.record("create /lambkin-escape.txt", write("/lambkin-escape.txt"));
    report.record("create /etc/lambkin-escape.txt", write("/etc/lambkin-escape.txt"));
    let escape = format!("{data}/lambkin-escape.txt");
    report.record(format!("create {escape}"), write(&escape));
    let dir = format!("{data}/lambkin-escape-dir");
    report.record(format!("create dir {dir}"), done(fs::create_dir(&dir)));
    report.record(format!("remove {bait}"), done(fs::remove_file(&bait)));
}

/// `..` out of /tmp, absolute and relative to a working directory.
fn traversal(report: &mut Report, data: &str) {
    let bait = format!("{data}/bait.txt");
    for path in [
        "/tmp/..",
        "/tmp/../etc/passwd",
        "/tmp/../../../../etc/passwd",
        "/tmp/./../",
        &climbed("/etc/passwd"),
        &climbed(data),
        &climbed(&bait),
    ] {
        report.read_and_list(path);
    }
    report.record("stat /tmp/..", stat("/tmp/.."));
    report.record(format!("stat {}", climbed(&bait)), stat(&climbed(&bait)));
    report.record(
        format!("open for writing {}", climbed(&bait)),
        open_for_writing(&climbed(&bait)),
    );
    let escape = climbed(&format!("{data}/lambkin-escape.txt"));
    report.record(format!("create {escape}"), write(&escape));
    report.record(
        "create /tmp/../lambkin-escape.txt",
        write("/tmp/../lambkin-escape.txt"),
    );
    report.record(
        "create dir /tmp/../lambkin-escape-dir",
        done(fs::create_dir("/tmp/../lambkin-escape-dir")),
    );
    // `..` that stays inside /tmp is fine; one more is not.
    report.record("create dir /tmp/sub", done(fs::create_dir_all("/tmp/sub")));
    report.record("read /tmp/sub/../control.txt", read("/tmp/sub/../control.txt"));
    report.read_and_list("/tmp/sub/../..");
    report.record(
        "read /tmp/sub/../../etc/passwd",
        read("/tmp/sub/../../etc/passwd"),
    );
    // Relative paths: first from the initial working directory, then from /tmp.
    for path in ["etc/passwd", "../etc/passwd", ".", ".."] {
        report.read_and_list(path);
    }
    report.record("set current dir /tmp", done(std::env::set_current_dir("/tmp")));
    report.record("read control.txt (cwd /tmp)", read("control.txt"));
    report.record("list . (cwd /tmp)", list("."));
    for path in ["..", "../..", "../etc/passwd", "../../../../etc/passwd"] {
        report.record(format!("read {path} (cwd /tmp)"), read(path));
        report.record(format!("list {path} (cwd /tmp)"), list(path));
    }
    report.record(
        "create ../lambkin-escape.txt (cwd /tmp)",
        write("../lambkin-escape.txt"),
    );
}

/// Symlinks made inside /tmp that point outside, then used to read, list and write.
fn symlinks(report: &mut Report, data: &str) {
    report.record("create dir /tmp/sub", done(fs::create_dir_all("/tmp/sub")));
    let root_up = UP_TO_ROOT;
    let links = [
        ("/tmp/l1", "/etc"),
        ("/tmp/l2", "/etc/passwd"),
        ("/tmp/l3", ".."),
        ("/tmp/l4", "/proc/self"),
        ("/tmp/l5", "../../../../etc/passwd"),
        ("/tmp/l6", "/"),
        ("/tmp/l7", "/tmp/.."),
        ("/tmp/l-data", data),
        ("/tmp/l-root", root_up),
        // A chain: c1 -> c2 -> c3 -> ..
        ("/tmp/c3", ".."),
        ("/tmp/c2", "c3"),
        ("/tmp/c1", "c2"),
        // From a subdirectory, relative and climbing past /tmp.
        ("/tmp/sub/up", "../.."),
        // Controls: links that stay inside /tmp.
        ("/tmp/inside", "control.txt"),
        ("/tmp/here", "."),
        ("/tmp/sub/back", "../control.txt"),
    ];
    for (link, target) in links {
        report.record(format!("symlink {link} -> {target}"), fresh_symlink(target, link));
    }
    let root_data = format!("/tmp/l-root{data}");
    for path in [
        "/tmp/l1",
        "/tmp/l1/passwd",
        "/tmp/l2",
        "/tmp/l3",
        "/tmp/l4",
        "/tmp/l4/environ",
        "/tmp/l4/mem",
        "/tmp/l5",
        "/tmp/l6",
        "/tmp/l6/etc/passwd",
        "/tmp/l7",
        "/tmp/l-data",
        "/tmp/l-data/bait.txt",
        "/tmp/l-root",
        "/tmp/l-root/etc/passwd",
        &format!("{root_data}/bait.txt"),
        "/tmp/c1",
        "/tmp/c1/etc/passwd",
        "/tmp/sub/up",
        "/tmp/sub/up/etc/passwd",
        "/tmp/inside",
        "/tmp/here",
        "/tmp/here/control.txt",
        "/tmp/sub/back",
    ] {
        report.read_and_list(path);
    }
    for path in ["/tmp/l1", "/tmp/l2", "/tmp/l3", "/tmp/l-data", "/tmp/c1"] {
        report.record(format!("stat {path}"), stat(path));
    }
    for path in [
        "/tmp/l2",
        "/tmp/l5",
        "/tmp/l-data/bait.txt",
        &format!("{root_data}/bait.txt"),
    ] {
        report.record(format!("open for writing {path}"), open_for_writing(path));
    }
    for dir in [
        "/tmp/l1",
        "/tmp/l3",
        "/tmp/l6",
        "/tmp/l-data",
        &root_data,
        "/tmp/c1",
        "/tmp/sub/up",
    ] {
        let path = format!("{dir}/lambkin-escape.txt");
        report.record(format!("create {path}"), write(&path));
    }
    for dir in ["/tmp/l3", "/tmp/l-data"] {
        let path = format!("{dir}/lambkin-escape-dir");
        report.record(format!("create dir {path}"), done(fs::create_dir(&path)));
        let link = format!("{dir}/lambkin-escape-link");
        report.record(format!("symlink {link} -> /tmp"), done(symlink("/tmp", &link)));
    }
    report.record(
        "remove /tmp/l-data/bait.txt",
        done(fs::remove_file("/tmp/l-data/bait.txt")),
    );
    report.record(
        "create /tmp/here/through-here.txt",
        write("/tmp/here/through-here.txt"),
    );
}

/// Hard links and renames between /tmp and the host's data directory.
fn links(report: &mut Report, data: &str) {
    let _ = fresh_symlink(UP_TO_ROOT, "/tmp/hl-root");
    let _ = fresh_symlink("..", "/tmp/hl-up");
    let bait = format!("{data}/bait.txt");
    let outside = [
        bait.clone(),
        climbed(&bait),
        format!("/tmp/hl-root{bait}"),
        "/etc/passwd".to_string(),
        "/tmp/../etc/passwd".to_string(),
    ];
    let escapes = [
        format!("{data}/lambkin-escape.txt"),
        climbed(&format!("{data}/lambkin-escape.txt")),
        format!("/tmp/hl-root{data}/lambkin-escape.txt"),
        "/tmp/hl-up/lambkin-escape.txt".to_string(),
        "/tmp/../lambkin-escape.txt".to_string(),
    ];
    for (i, from) in outside.iter().enumerate() {
        let to = format!("/tmp/hard-{i}");
        let result = done(fs::hard_link(from, &to));
        report.record(format!("hard link {from} -> {to}"), result);
    }
    for to in &escapes {
        let result = done(fs::hard_link("/tmp/control.txt", to));
        report.record(format!("hard link /tmp/control.txt -> {to}"), result);
    }
    for (i, from) in outside.iter().enumerate() {
        let to = format!("/tmp/stolen-{i}");
        report.record(format!("rename {from} -> {to}"), done(fs::rename(from, &to)));
    }
    report.record("create /tmp/to-move.txt", write("/tmp/to-move.txt"));
    for to in &escapes {
        let result = done(fs::rename("/tmp/to-move.txt", to));
        report.record(format!("rename /tmp/to-move.txt -> {to}"), result);
    }
    // A directory moved out of /tmp would take its contents (and later writes) with it.
    let result = done(fs::create_dir_all("/tmp/movable"));
    report.record("create dir /tmp/movable", result);
    let dir_escapes = [
        climbed(&format!("{data}/lambkin-escape-dir")),
        "/tmp/hl-up/lambkin-escape-dir".to_string(),
    ];
    for to in &dir_escapes {
        let result = done(fs::rename("/tmp/movable", to));
        report.record(format!("rename /tmp/movable -> {to}"), result);
    }
    // Controls: inside /tmp, both work.
    let result = done(fs::hard_link("/tmp/control.txt", "/tmp/control-link.txt"));
    report.record("hard link /tmp/control.txt -> /tmp/control-link.txt", result);
    let result = done(fs::rename("/tmp/to-move.txt", "/tmp/moved.txt"));
    report.record("rename /tmp/to-move.txt -> /tmp/moved.txt", result);
}

/// TCP, UDP and DNS.
fn sockets(report: &mut Report, ports: &[u16]) {
    let mut targets: Vec<String> = ports.iter().map(|port| format!("127.0.0.1:{port}")).collect();
    targets.extend(ports.first().map(|port| format!("[::1]:{port}")));
    targets.push("1.1.1.1:53".to_string());
    for target in &targets {
        let result = TcpStream::connect(target.as_str()).map(|s| format!("{:?}", s.peer_addr()));
        report.record(format!("tcp connect {target}"), result);
    }
    for address in ["127.0.0.1:0", "0.0.0.0:8080"] {
        let result = TcpListener::bind(address).map(|l| format!("{:?}", l.local_addr()));
        report.record(format!("tcp listen {address}"), result);
    }
    report.record(
        "udp bind 127.0.0.1:0",
        UdpSocket::bind("127.0.0.1:0").map(|s| format!("{:?}", s.local_addr())),
    );
    let mut udp_targets: Vec<String> = ports.iter().map(|port| format!("127.0.0.1:{port}")).collect();
    udp_targets.push("1.1.1.1:53".to_string());
    for target in &udp_targets {
        let result =
            UdpSocket::bind("0.0.0.0:0").and_then(|socket| socket.send_to(b"hello", target.as_str()));
        report.record(
            format!("udp send to {target}"),
            result.map(|n| format!("sent {n} bytes")),
        );
    }
    for name in ["localhost:80", "example.com:443"] {
        let result = name
            .to_socket_addrs()
            .map(|a| format!("{:?}", a.collect::<Vec<_>>()));
        report.record(format!("dns {name}"), result);
    }
}

/// Writes to the layers at /opt (read-only), directly and by way of /tmp.
fn opt(report: &mut Report) {
    let file = "/opt/config/greeting.txt";
    report.record(format!("read {file}"), read(file));
    report.record("list /opt", list("/opt"));
    report.record("create /opt/new.txt", write("/opt/new.txt"));
    report.record("create /opt/config/new.txt", write("/opt/config/new.txt"));
    report.record(format!("open for writing {file}"), open_for_writing(file));
    report.record(format!("append to {file}"), append(file));
    report.record(format!("truncate {file}"), truncate(file));
    report.record(format!("create {file}"), write(file));
    report.record(format!("remove {file}"), done(fs::remove_file(file)));
    report.record("remove dir /opt/config", done(fs::remove_dir("/opt/config")));
    report.record("create dir /opt/newdir", done(fs::create_dir("/opt/newdir")));
    let moved = "/opt/config/moved.txt";
    report.record(format!("rename {file} -> {moved}"), done(fs::rename(file, moved)));
    report.record(
        format!("rename {file} -> /tmp/stolen.txt"),
        done(fs::rename(file, "/tmp/stolen.txt")),
    );
    report.record("create /tmp/plant.txt", write("/tmp/plant.txt"));
    report.record(
        "rename /tmp/plant.txt -> /opt/plant.txt",
        done(fs::rename("/tmp/plant.txt", "/opt/plant.txt")),
    );
    // A hard link in /tmp to a layer file would make it writable through /tmp.
    report.record(
        format!("hard link {file} -> /tmp/greeting-link.txt"),
        done(fs::hard_link(file, "/tmp/greeting-link.txt")),
    );
    report.record(
        "hard link /tmp/plant.txt -> /opt/plant-link.txt",
        done(fs::hard_link("/tmp/plant.txt", "/opt/plant-link.txt")),
    );
    report.record("symlink /opt/link -> /tmp", done(symlink("/tmp", "/opt/link")));
    report.record(
        "symlink /tmp/opt-link -> /opt",
        fresh_symlink("/opt", "/tmp/opt-link"),
    );
    report.record("create /tmp/opt-link/new.txt", write("/tmp/opt-link/new.txt"));
    report.record(
        format!("set permissions {file}"),
        fs::metadata(file).and_then(|metadata| {
            let mut permissions = metadata.permissions();
            permissions.set_readonly(!permissions.readonly());
            done(fs::set_permissions(file, permissions))
        }),
    );
    report.record(
        format!("set modified time {file}"),
        fs::File::open(file).and_then(|f| done(f.set_modified(std::time::SystemTime::UNIX_EPOCH))),
    );
    report.record(format!("read {file} again"), read(file));
}

/// Entries the hunt looks at, at most: were the host's `/` reachable, walking all of it would
/// outlast the function's timeout.
const HUNT_BUDGET: usize = 20_000;

/// Every `secret.txt` under /tmp, its parent, the root and the working directory.
fn hunt() -> Vec<Value> {
    let mut found = Vec::new();
    let mut budget = HUNT_BUDGET;
    for root in ["/tmp", "/tmp/..", "/", ".", "..", "/opt"] {
        walk(root, 0, &mut budget, &mut found);
    }
    found
}

fn walk(dir: &str, depth: u32, budget: &mut usize, found: &mut Vec<Value>) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        if *budget == 0 {
            return;
        }
        *budget -= 1;
        let path = format!("{dir}/{}", entry.file_name().to_string_lossy());
        let Ok(kind) = entry.file_type() else {
            continue;
        };
        if kind.is_dir() && depth < 8 {
            walk(&path, depth + 1, budget, found);
        } else if entry.file_name() == "secret.txt" {
            found.push(json!({ "path": path, "content": read(&path).ok() }));
        }
    }
}
