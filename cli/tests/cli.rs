//! The real `bookmygig` binary against a real server: registering with flags and in a
//! pseudo-terminal, publishing with the printed OBS settings, `--json` on every command, bad
//! input, and an unreachable server.
#![allow(clippy::expect_used, clippy::unwrap_used)] // A test failure is a panic.

mod common;

use std::process::Stdio;
use std::time::Duration;

use bookmygig_api::{
    Account, Gig, GigEarnings, GigStatus, MyTicket, Page, Playback, Purchased, StreamKeyInfo,
    TopUpReceipt, Wallet,
};
use common::{TestServer, User};

/// Flags of a valid registration for `user`, starting in five minutes (inside the publish
/// window, which opens 60 minutes before the start on a default server).
fn register_flags(user: &User, title: &str) -> Vec<String> {
    let (date, start, end) = user.slot(5);
    [
        "gig",
        "register",
        "--creator-name",
        "Alice Smith",
        "--title",
        title,
        "--description",
        "An hour of new material.",
        "--category",
        "comedy",
        "--price",
        "7.50",
        "--date",
        &date,
        "--start",
        &start,
        "--end",
        &end,
        "--capacity",
        "50",
        "--payment-pointer",
        "$wallet.example/alice",
        "--yes",
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect()
}

fn strs(args: &[String]) -> Vec<&str> {
    args.iter().map(String::as_str).collect()
}

/// The value after `label` on the line that starts with it (after indentation).
fn field<'a>(text: &'a str, label: &str) -> &'a str {
    text.lines()
        .find_map(|line| line.trim_start().strip_prefix(label))
        .unwrap_or_else(|| panic!("no `{label}` line in:\n{text}"))
        .trim()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registered_obs_settings_publish_and_the_gig_goes_live() {
    let server = TestServer::start().await;
    let alice = User::new(&server);
    alice.sign_up_with_funds("alice").await;

    let registered = alice
        .run(&strs(&register_flags(&alice, "Late Night Laughs")))
        .await;
    let out = registered.ok();
    assert_eq!(field(out, "Service:"), "Custom");
    let rtmp_server = field(out, "Server:").to_owned();
    let key = field(out, "Stream Key:").to_owned();
    assert_eq!(
        rtmp_server,
        format!("rtmp://127.0.0.1:{}/live", server.rtmp_port)
    );
    assert!(
        out.contains(&format!("-f flv {rtmp_server}/{key}")),
        "{out}"
    );
    assert!(out.contains("Listing fee paid: $99.00"), "{out}");
    let gig: Gig = alice
        .run(&["gig", "mine", "--json"])
        .await
        .json::<Page<Gig>>()
        .items[0]
        .clone();
    assert_eq!(gig.stream_key.as_ref().unwrap().expose(), key);

    if which("ffmpeg").is_none() {
        panic!("ffmpeg not found: run scripts/bootstrap (apt-get install -y ffmpeg)");
    }
    let mut ffmpeg = tokio::process::Command::new("ffmpeg")
        .args([
            "-hide_banner",
            "-loglevel",
            "error",
            "-re",
            "-f",
            "lavfi",
            "-i",
        ])
        .arg("testsrc2=size=320x240:rate=30")
        .args(["-f", "lavfi", "-i", "sine", "-t", "5", "-c:v", "libx264"])
        .args([
            "-preset", "veryfast", "-g", "60", "-c:a", "aac", "-f", "flv",
        ])
        .arg(format!("{rtmp_server}/{key}"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("ffmpeg starts");

    let id = gig.id.to_string();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let shown: Gig = alice.run(&["gig", "show", &id, "--json"]).await.json();
        if shown.status == GigStatus::Live {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "never went live: {shown:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let human = alice.run(&["gig", "show", &id]).await;
    assert_eq!(field(human.ok(), "Status:"), "live");

    let done = tokio::time::timeout(Duration::from_secs(30), ffmpeg.wait())
        .await
        .expect("ffmpeg finishes")
        .expect("ffmpeg ran");
    assert!(
        done.success(),
        "ffmpeg failed to publish with the printed settings"
    );
}

fn which(program: &str) -> Option<std::path::PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join(program))
            .find(|path| path.is_file())
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn register_without_flags_walks_through_the_form_in_a_terminal() {
    let server = TestServer::start().await;
    let user = User::new(&server);
    user.sign_up_with_funds("typist").await;
    let (date, start, end) = user.slot(10);
    let command = user.command(&["gig", "register"]);

    let transcript = tokio::task::spawn_blocking(move || {
        let mut pty = rexpect::session::spawn_with_options(
            command,
            rexpect::reader::Options {
                timeout_ms: Some(30_000),
                strip_ansi_escape_codes: true,
            },
        )
        .expect("spawn in a pty");
        let answer = |pty: &mut rexpect::session::PtySession, prompt: &str, text: &str| {
            pty.exp_string(prompt)
                .unwrap_or_else(|e| panic!("no `{prompt}` prompt: {e}"));
            pty.send_line(text).expect("type");
        };
        answer(&mut pty, "Creator name", "Pat Typist");
        answer(&mut pty, "Title", "Typed In");
        answer(&mut pty, "Description", "");
        answer(&mut pty, "Category", "music");
        answer(&mut pty, "Ticket price", "5");
        answer(&mut pty, "Date (YYYY-MM-DD)", "2026-02-30");
        pty.exp_string("is not a date")
            .expect("the bad date is refused");
        answer(&mut pty, "Date (YYYY-MM-DD)", &date);
        answer(&mut pty, "Start (HH:MM", &start);
        answer(&mut pty, "End (HH:MM", &end);
        answer(&mut pty, "Capacity", "");
        answer(&mut pty, "Payment pointer", "$wallet.example/pat");
        answer(&mut pty, "Streaming rate", "");
        pty.exp_string("Register it?").expect("fee confirmation");
        pty.send("y").expect("confirm");
        pty.flush().expect("flush");
        pty.exp_eof().expect("finishes")
    })
    .await
    .expect("pty session");
    assert!(transcript.contains("Stream Key:"), "{transcript}");

    let mine: Page<Gig> = user.run(&["gig", "mine", "--json"]).await.json();
    assert_eq!(mine.items.len(), 1);
    let gig = &mine.items[0];
    assert_eq!(gig.title, "Typed In");
    assert_eq!(gig.creator_name, "Pat Typist");
    assert_eq!(gig.capacity, None);
    assert_eq!(gig.payment_pointer.as_str(), "$wallet.example/pat");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_output_of_every_command_is_the_api_types() {
    let server = TestServer::start().await;
    let alice = User::new(&server);
    let signed: Account = alice
        .run_with(
            &[
                "--json",
                "signup",
                "--handle",
                "alice",
                "--display-name",
                "Alice",
                "--password-stdin",
            ],
            Some("alice-password\n"),
        )
        .await
        .json();
    assert_eq!(signed.handle, "alice");
    let me: Account = alice.run(&["whoami", "--json"]).await.json();
    assert_eq!(me.id, signed.id);
    let receipt: TopUpReceipt = alice
        .run(&["wallet", "topup", "150", "--json"])
        .await
        .json();
    assert_eq!(receipt.balance.to_string(), "$150.00");

    let mut flags = register_flags(&alice, "Json Gig");
    flags.push("--json".into());
    let gig: Gig = alice.run(&strs(&flags)).await.json();
    assert!(gig.stream_key.is_some() && gig.rtmp_url.is_some());
    let id = gig.id.to_string();

    let listed: Page<Gig> = alice
        .run(&["gig", "list", "--json", "--category", "comedy"])
        .await
        .json();
    assert!(listed.items.iter().any(|g| g.id == gig.id));
    let searched: Page<Gig> = alice
        .run(&["gig", "list", "--json", "--search", "nothing-like-it"])
        .await
        .json();
    assert!(searched.items.is_empty());
    let live: Page<Gig> = alice.run(&["gig", "list", "--live", "--json"]).await.json();
    assert!(live.items.is_empty());
    let shown: Gig = alice.run(&["gig", "show", &id, "--json"]).await.json();
    assert_eq!(shown.id, gig.id);
    let mine: Page<Gig> = alice.run(&["gig", "mine", "--json"]).await.json();
    assert_eq!(mine.items.len(), 1);
    let key: StreamKeyInfo = alice.run(&["gig", "key", &id, "--json"]).await.json();
    assert_eq!(Some(&key.stream_key), gig.stream_key.as_ref());
    let rotated: StreamKeyInfo = alice
        .run(&["gig", "key", &id, "--rotate", "--json"])
        .await
        .json();
    assert_ne!(rotated.stream_key, key.stream_key);
    let playback: Playback = alice.run(&["play", &id, "--json"]).await.json();
    assert!(playback.flv_url.contains(&id));

    // A buyer in another config dir, on the same server.
    let bob = User::new(&server);
    bob.sign_up_with_funds("bob").await;
    let purchased: Purchased = bob.run(&["ticket", "buy", &id, "--json"]).await.json();
    assert_eq!(purchased.ticket.gig_id, gig.id);
    let tickets: Page<MyTicket> = bob.run(&["tickets", "--json"]).await.json();
    assert_eq!(tickets.items.len(), 1);
    let wallet: Wallet = bob.run(&["wallet", "--json"]).await.json();
    assert_eq!(wallet.balance.to_string(), "$192.50");

    let earnings: GigEarnings = alice.run(&["gig", "earnings", &id, "--json"]).await.json();
    assert_eq!(earnings.gig_id, gig.id);
    assert_eq!(earnings.tickets_sold, 1);
    assert_eq!(earnings.ticket_revenue.to_string(), "$7.50");
    assert_eq!(earnings.listing_fee.to_string(), "-$99.00");
    let human = alice.run(&["gig", "earnings", &id]).await;
    assert!(human.ok().contains("Tickets sold:"), "{human:#?}");

    let cancelled: Gig = alice
        .run(&["gig", "cancel", &id, "--yes", "--json"])
        .await
        .json();
    assert_eq!(cancelled.status, GigStatus::Cancelled);
    // The TUI is interactive: without a terminal (as here) it refuses instead of drawing.
    let tui = alice.run(&["tui"]).await;
    assert_eq!(tui.code, 2, "{tui:#?}");
    assert!(tui.stderr.contains("needs a terminal"), "{tui:#?}");
    let out: serde_json::Value = alice.run(&["logout", "--json"]).await.json();
    assert_eq!(out["signed_out"], true);
    let after = alice.run(&["whoami"]).await;
    assert_eq!(after.code, 2, "{after:#?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_exits_2_naming_the_field_and_creates_nothing() {
    let server = TestServer::start().await;
    let alice = User::new(&server);
    alice.sign_up_with_funds("alice").await;
    let good = register_flags(&alice, "Never Made");
    let (_, start, _) = alice.slot(5);
    let early = {
        // A minute before the start, on the same date (or the start itself at midnight).
        let (h, m) = start.split_once(':').unwrap();
        let minutes =
            (h.parse::<u32>().unwrap() * 60 + m.parse::<u32>().unwrap()).saturating_sub(1);
        format!("{:02}:{:02}", minutes / 60, minutes % 60)
    };
    let cases: [(&str, &str, &str); 7] = [
        ("--date", "2026-13-45", "--date"),
        ("--date", "not-a-date", "--date"),
        ("--end", &early, "--end"),
        ("--price", "-5", "--price"),
        (
            "--payment-pointer",
            "wallet.example/alice",
            "--payment-pointer",
        ),
        ("--category", "opera", "--category"),
        ("--capacity", "0", "--capacity"),
    ];
    for (flag, value, named) in cases {
        let mut args = good.clone();
        let at = args.iter().position(|a| a == flag).unwrap();
        args[at + 1] = value.to_owned();
        let run = alice.run(&strs(&args)).await;
        assert_eq!(run.code, 2, "{flag} {value}: {run:#?}");
        assert!(run.stderr.contains(named), "{flag} {value}: {run:#?}");
        assert_eq!(run.stderr.lines().count(), 1, "one line: {run:#?}");
        assert!(!run.stderr.contains("panicked"), "{run:#?}");
    }

    // A missing field cannot be asked for without a terminal; nor can the fee be confirmed.
    let mut missing = good.clone();
    let at = missing.iter().position(|a| a == "--title").unwrap();
    missing.drain(at..at + 2);
    let run = alice.run(&strs(&missing)).await;
    assert_eq!(run.code, 2, "{run:#?}");
    assert!(run.stderr.contains("--title: missing"), "{run:#?}");
    let mut unconfirmed = good.clone();
    unconfirmed.retain(|a| a != "--yes");
    let run = alice.run(&strs(&unconfirmed)).await;
    assert_eq!(run.code, 2, "{run:#?}");
    assert!(run.stderr.contains("--yes"), "{run:#?}");

    let mine: Page<Gig> = alice.run(&["gig", "mine", "--json"]).await.json();
    assert!(mine.items.is_empty(), "nothing was created: {mine:?}");
    let wallet: Wallet = alice.run(&["wallet", "--json"]).await.json();
    assert_eq!(wallet.balance.to_string(), "$200.00", "no fee was charged");

    // Refused by the server: the problem detail in plain words, exit 2.
    let run = alice
        .run(&["gig", "show", "01890000-0000-7000-8000-000000000000"])
        .await;
    assert_eq!(run.code, 2, "{run:#?}");
    let run = alice.run(&["gig", "show", "nope"]).await;
    assert_eq!(run.code, 2, "{run:#?}");
    assert!(run.stderr.contains("not a gig id"), "{run:#?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unreachable_server_is_one_line_with_the_url_and_exit_1() {
    // A port that was just free: nothing listens there.
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let server = TestServer::start().await;
    let user = User::new(&server);
    let url = format!("http://127.0.0.1:{port}");
    for args in [
        vec!["--server", url.as_str(), "gig", "list"],
        vec!["--server", url.as_str(), "gig", "list", "--json"],
    ] {
        let run = user.run(&args).await;
        assert_eq!(run.code, 1, "{run:#?}");
        assert_eq!(run.stderr.lines().count(), 1, "{run:#?}");
        assert!(
            run.stderr.contains(&format!("{url}/api/v1/gigs")),
            "{run:#?}"
        );
        assert!(!run.stderr.contains("panicked"), "{run:#?}");
        assert!(run.stdout.is_empty(), "{run:#?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn credentials_are_private_and_completions_and_man_page_generate() {
    let server = TestServer::start().await;
    let user = User::new(&server);
    user.sign_up_with_funds("carol").await;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let meta = std::fs::metadata(user.config_dir().join("credentials.json")).unwrap();
        assert_eq!(meta.permissions().mode() & 0o777, 0o600);
    }
    let config = std::fs::read_to_string(user.config_dir().join("config.json")).unwrap();
    assert!(
        config.contains(&server.base),
        "the server is remembered: {config}"
    );

    let bash = user.run(&["completions", "bash"]).await;
    assert!(bash.ok().contains("bookmygig"));
    let man = user.run(&["man"]).await;
    assert!(
        man.ok().starts_with(".ie") || man.stdout.contains(".TH"),
        "{}",
        man.stdout
    );
    let usage = user.run(&["gig", "frobnicate"]).await;
    assert_eq!(usage.code, 2, "{usage:#?}");
}
