//! A `RedisServer` never outlives its test process: a child test process that starts one and
//! is then killed with SIGKILL (no `Drop`, no unwinding) leaves no redis-server behind.

#![allow(clippy::expect_used, clippy::unwrap_used)] // A harness failure is a test failure.

use std::io::{BufRead as _, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use bookmygig_testkit::{RedisServer, eventually};

/// The test that holds a redis-server when [`HOLD_ENV`] is set.
const HOLDER_TEST: &str = "hold_a_redis_server_until_killed";
/// Set in the child; the holding test does nothing without it.
const HOLD_ENV: &str = "BOOKMYGIG_TEST_HOLD_REDIS";

/// Run as a child by the test below: starts a redis-server, says its pid and socket, and waits
/// until the parent kills it (or closes its stdin).
#[test]
#[ignore = "a helper process of redis_server_dies_with_a_sigkilled_test_process"]
fn hold_a_redis_server_until_killed() {
    if std::env::var_os(HOLD_ENV).is_none() {
        return;
    }
    let redis = RedisServer::start();
    println!("holding {} {}", redis.pid(), redis.url());
    let _ = std::io::copy(&mut std::io::stdin(), &mut std::io::sink());
    drop(redis);
}

/// Whether process `pid` still runs (a zombie has already ended).
fn running(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        // The state follows the parenthesised command name.
        Ok(stat) => stat
            .rsplit_once(") ")
            .is_some_and(|(_, rest)| !rest.starts_with('Z') && !rest.starts_with('X')),
        Err(_) => false,
    }
}

#[tokio::test]
async fn redis_server_dies_with_a_sigkilled_test_process() {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", HOLDER_TEST, "--ignored", "--nocapture"])
        .args(["--test-threads=1"])
        .env(HOLD_ENV, "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let line = BufReader::new(stdout)
        .lines()
        .map(|line| line.unwrap())
        // libtest may have written "test NAME ... " on the same line first.
        .find_map(|line| Some(line.split_once("holding ")?.1.to_owned()))
        .expect("the child says which redis-server it holds");
    let (pid, url) = line.split_once(' ').unwrap();
    let pid: u32 = pid.parse().unwrap();
    let socket = url.strip_prefix("redis+unix://").unwrap().to_owned();
    assert!(running(pid), "redis-server {pid} runs while its test does");
    assert!(std::os::unix::net::UnixStream::connect(&socket).is_ok());

    child.kill().unwrap(); // SIGKILL: no Drop runs in the child.
    child.wait().unwrap();

    // Both, awaited together: a multi-threaded server's main thread can show as a zombie while
    // its other threads still hold the listening socket for a moment.
    eventually(
        "the orphaned redis-server is gone and nothing listens on its socket",
        Duration::from_secs(10),
        || {
            let alive = running(pid);
            let listening = std::os::unix::net::UnixStream::connect(&socket).is_ok();
            async move {
                if alive || listening {
                    Err((pid, alive, listening))
                } else {
                    Ok(())
                }
            }
        },
    )
    .await;
}

#[test]
fn a_dropped_redis_server_is_gone_at_once() {
    let redis = RedisServer::start();
    let pid = redis.pid();
    assert!(running(pid));
    drop(redis);
    assert!(!running(pid), "redis-server {pid} still runs after drop");
}
