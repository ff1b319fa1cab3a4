//! A throwaway PostgreSQL cluster per test: `initdb` into a temporary folder, a server on a
//! free 127.0.0.1 port (and a socket in the folder), password authentication over TCP, stopped
//! and deleted when dropped. Run as a non-root user: PostgreSQL refuses root, so as root the
//! server runs as `postgres` (Debian's package creates it) or `nobody`, through `runuser`.
//!
//! Without the server binaries, [`Cluster::start`] prints one line saying the test is skipped
//! and why, and returns `None`. CI installs Debian's `postgresql` and sets
//! `M365AUDIT_REQUIRE_POSTGRES`, so there a missing server fails the test instead.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use super::TempDir;

/// The superuser the tests connect as, and its password (a throwaway cluster's).
pub const USER: &str = "m365audit";
pub const PASSWORD: &str = "loopback-only-test-password";

pub struct Cluster {
    bin: PathBuf,
    data: PathBuf,
    /// Whose processes the server's are, when the tests run as root.
    run_as: Option<String>,
    pub port: u16,
    dir: TempDir,
}

/// The server binaries: `M365AUDIT_PG_BIN`, else `pg_config --bindir`, else Debian's
/// `/usr/lib/postgresql/<version>/bin` (newest), else `initdb` on the PATH.
fn binaries() -> Option<PathBuf> {
    let has = |d: &Path| d.join("initdb").is_file() && d.join("pg_ctl").is_file();
    if let Some(d) = std::env::var_os("M365AUDIT_PG_BIN").map(PathBuf::from) {
        return has(&d).then_some(d);
    }
    if let Ok(out) = Command::new("pg_config").arg("--bindir").output() {
        let d = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
        if has(&d) {
            return Some(d);
        }
    }
    let mut debian: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .filter_map(Result::ok)
        .map(|e| e.path().join("bin"))
        .filter(|d| has(d))
        .collect();
    debian.sort_by_key(|d| {
        d.parent()
            .and_then(|v| v.file_name())
            .and_then(|v| v.to_str())
            .and_then(|v| v.parse::<u32>().ok())
    });
    if let Some(d) = debian.pop() {
        return Some(d);
    }
    std::env::var_os("PATH").and_then(|path| std::env::split_paths(&path).find(|d| has(d)))
}

fn is_root() -> bool {
    // SAFETY-free: `id -u` rather than libc, whose `getuid` needs `unsafe`.
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

impl Cluster {
    /// A running cluster, or `None` (with one line on standard error) when the server
    /// binaries are not installed.
    pub fn start(test: &str) -> Option<Cluster> {
        let Some(bin) = binaries() else {
            // CI installs the server: there, a missing one is a failure, not a skip.
            assert!(
                std::env::var_os("M365AUDIT_REQUIRE_POSTGRES").is_none(),
                "{test}: M365AUDIT_REQUIRE_POSTGRES is set but the PostgreSQL server binaries are not installed"
            );
            eprintln!(
                "skipped {test}: the PostgreSQL server binaries (initdb, pg_ctl) are not installed; \
                 install Debian's postgresql (or set M365AUDIT_PG_BIN) to run it"
            );
            return None;
        };
        let dir = TempDir::new("pg");
        let run_as = is_root().then(|| {
            let exists = |u: &str| {
                Command::new("id")
                    .arg(u)
                    .output()
                    .is_ok_and(|o| o.status.success())
            };
            if exists("postgres") {
                "postgres"
            } else {
                "nobody"
            }
            .to_string()
        });
        let data = dir.path().join("data");
        let pwfile = dir.write("pw", PASSWORD);
        if let Some(user) = &run_as {
            let status = Command::new("chown")
                .args(["-R", user])
                .arg(dir.path())
                .status()
                .expect("chown runs");
            assert!(status.success(), "chown the cluster folder to {user}");
        }
        let mut cluster = Cluster {
            bin,
            data,
            run_as,
            port: free_port(),
            dir,
        };
        let out = cluster
            .command("initdb")
            .arg("-D")
            .arg(&cluster.data)
            .args([
                "-U",
                USER,
                "--auth-local=trust",
                "--auth-host=scram-sha-256",
            ])
            .arg(format!("--pwfile={}", pwfile.display()))
            .args(["--no-sync", "-E", "UTF8", "--locale=C"])
            .output()
            .expect("initdb runs");
        assert!(
            out.status.success(),
            "initdb: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        // A port taken between `free_port` and the server's bind: try another.
        for _ in 0..5 {
            let options = format!(
                "-c listen_addresses=127.0.0.1 -p {} -k {} -c fsync=off -c full_page_writes=off -c max_connections=60",
                cluster.port,
                cluster.dir.path().display()
            );
            let out = cluster
                .command("pg_ctl")
                .arg("-D")
                .arg(&cluster.data)
                .args(["-w", "-t", "60", "-o", &options, "-l"])
                .arg(cluster.dir.path().join("server.log"))
                .arg("start")
                .stdout(Stdio::null())
                .output()
                .expect("pg_ctl runs");
            if out.status.success() {
                return Some(cluster);
            }
            cluster.port = free_port();
        }
        panic!(
            "the PostgreSQL server did not start: {}",
            std::fs::read_to_string(cluster.dir.path().join("server.log")).unwrap_or_default()
        );
    }

    fn command(&self, tool: &str) -> Command {
        let exe = self.bin.join(tool);
        match &self.run_as {
            Some(user) => {
                let mut c = Command::new("runuser");
                c.args(["-u", user, "--"]).arg(exe);
                c
            }
            None => Command::new(exe),
        }
    }

    /// A new empty database's URL (without the password: it goes in a file or a variable).
    pub fn database(&self, name: &str) -> String {
        let mut client = self.client("postgres");
        client
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .expect("create the test database");
        self.url(name)
    }

    pub fn url(&self, database: &str) -> String {
        format!("postgres://{USER}@127.0.0.1:{}/{database}", self.port)
    }

    /// A client of the test's own, to inspect what m365audit wrote.
    pub fn client(&self, database: &str) -> postgres::Client {
        let mut config: postgres::Config = self.url(database).parse().expect("a URL");
        config.password(PASSWORD);
        config
            .connect(postgres::NoTls)
            .expect("connect to the test cluster")
    }

    /// The password file m365audit reads.
    pub fn password_file(&self) -> PathBuf {
        self.dir.path().join("pw")
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = self
            .command("pg_ctl")
            .arg("-D")
            .arg(&self.data)
            .args(["-m", "immediate", "stop"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}
