//! A real `redis-server` on a free loopback port, killed on drop.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct RedisServer {
    child: Option<Child>,
    pub url: String,
    pub port: u16,
    /// With AOF persistence: a restart keeps the data, as a production Redis would.
    dir: Option<tempfile::TempDir>,
}

impl RedisServer {
    /// Starts one without persistence; `None` (after a loud message) when the binary is missing
    /// outside CI. In CI (`CI` set) a missing binary fails the test: a skipped check must not
    /// count as a pass.
    pub fn start() -> Option<RedisServer> {
        Self::launch(false)
    }

    /// Starts one that persists every write (appendfsync always), so restarts keep the state.
    pub fn start_persistent() -> Option<RedisServer> {
        Self::launch(true)
    }

    fn launch(persistent: bool) -> Option<RedisServer> {
        if Command::new("redis-server").arg("--version").output().is_err() {
            assert!(std::env::var("CI").is_err(), "redis-server is not installed: .ci/run must install it");
            eprintln!(
                "\n*** NOT CHECKED: redis-server is missing (apt-get install redis-server); CI installs it and runs this check ***\n"
            );
            return None;
        }
        for _ in 0..5 {
            let port = std::net::TcpListener::bind("127.0.0.1:0").ok()?.local_addr().ok()?.port();
            let mut server = RedisServer {
                child: None,
                url: format!("redis://127.0.0.1:{port}/"),
                port,
                dir: persistent.then(|| tempfile::tempdir().expect("redis dir")),
            };
            if server.spawn_and_wait() {
                return Some(server);
            }
            // Someone took the port first: try another.
        }
        panic!("redis-server did not start");
    }

    fn spawn_and_wait(&mut self) -> bool {
        let mut cmd = Command::new("redis-server");
        cmd.args(["--port", &self.port.to_string(), "--bind", "127.0.0.1", "--save", ""]);
        match &self.dir {
            Some(d) => {
                cmd.args(["--appendonly", "yes", "--appendfsync", "always", "--dir", &d.path().display().to_string()])
            }
            None => cmd.args(["--appendonly", "no"]),
        };
        self.child = Some(cmd.stdout(Stdio::null()).stderr(Stdio::null()).spawn().expect("spawn redis-server"));
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(c) = redis::Client::open(self.url.as_str())
                && let Ok(mut conn) = c.get_connection()
                && redis::cmd("PING").query::<String>(&mut conn).is_ok()
            {
                return true;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        self.stop();
        false
    }

    /// Kills the server (SIGKILL: no shutdown save).
    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Starts it again on the same port (and, when persistent, with the same data).
    pub fn start_again(&mut self) {
        assert!(self.spawn_and_wait(), "redis-server did not come back");
    }

    /// Kills the server and starts a new one on the same port.
    pub fn restart(&mut self) {
        self.stop();
        self.start_again();
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.stop();
    }
}
