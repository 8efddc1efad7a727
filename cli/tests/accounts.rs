//! The real `bookmygig` binary's account commands against a real server: `password` from a
//! script (two lines of stdin) and at hidden prompts in a pseudo-terminal, and `logout --all`,
//! each seen from a second device (another config dir signed in to the same account).
#![allow(clippy::expect_used, clippy::unwrap_used)] // A test failure is a panic.

mod common;

use common::{TestServer, User};

/// A second device of `handle`: its own config dir, signed in with `password`.
async fn device(server: &TestServer, handle: &str, password: &str) -> User {
    let user = User::new(server);
    user.run_with(
        &["login", "--handle", handle, "--password-stdin"],
        Some(&format!("{password}\n")),
    )
    .await
    .ok();
    user
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn password_from_stdin_changes_it_and_signs_out_the_other_devices() {
    let server = TestServer::start().await;
    let laptop = User::new(&server);
    laptop
        .run_with(
            &["signup", "--handle", "alice", "--password-stdin"],
            Some("alice-password\n"),
        )
        .await
        .ok();
    let phone = device(&server, "alice", "alice-password").await;

    let wrong = laptop
        .run_with(
            &["password", "--password-stdin"],
            Some("not my password\nbrand new password\n"),
        )
        .await;
    assert_eq!(wrong.code, 2, "{wrong:#?}");
    assert!(wrong.stderr.contains("current password"), "{wrong:#?}");
    let short = laptop
        .run_with(
            &["password", "--password-stdin"],
            Some("alice-password\nshort\n"),
        )
        .await;
    assert_eq!(short.code, 2, "{short:#?}");
    assert!(short.stderr.contains("8–128"), "{short:#?}");
    let one_line = laptop
        .run_with(&["password", "--password-stdin"], Some("alice-password\n"))
        .await;
    assert_eq!(one_line.code, 2, "{one_line:#?}");
    assert!(one_line.stderr.contains("two lines"), "{one_line:#?}");
    let no_terminal = laptop.run(&["password"]).await;
    assert_eq!(no_terminal.code, 2, "{no_terminal:#?}");
    assert!(
        no_terminal.stderr.contains("--password-stdin"),
        "{no_terminal:#?}"
    );
    // The refusals changed nothing: the phone is still signed in.
    phone.run(&["whoami"]).await.ok();

    let changed: serde_json::Value = laptop
        .run_with(
            &["password", "--password-stdin", "--json"],
            Some("alice-password\nbrand new password\n"),
        )
        .await
        .json();
    assert_eq!(changed["password_changed"], true);
    assert!(laptop.run(&["whoami"]).await.ok().contains("@alice"));
    let signed_out = phone.run(&["whoami"]).await;
    assert_eq!(signed_out.code, 2, "{signed_out:#?}");
    let old = phone
        .run_with(
            &["login", "--handle", "alice", "--password-stdin"],
            Some("alice-password\n"),
        )
        .await;
    assert_eq!(old.code, 2, "{old:#?}");
    device(&server, "alice", "brand new password").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn password_asks_for_both_passwords_hidden_in_a_terminal() {
    let server = TestServer::start().await;
    let user = User::new(&server);
    user.run_with(
        &["signup", "--handle", "typist", "--password-stdin"],
        Some("typist-password\n"),
    )
    .await
    .ok();
    let command = user.command(&["password"]);
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
        answer(&mut pty, "Current password", "typist-password");
        answer(&mut pty, "New password", "a typed new password");
        answer(&mut pty, "Repeat new password", "a typed new password");
        pty.exp_eof().expect("finishes")
    })
    .await
    .expect("pty session");
    assert!(transcript.contains("Password changed"), "{transcript}");
    assert!(
        !transcript.contains("a typed new password"),
        "the passwords are not echoed: {transcript}"
    );
    device(&server, "typist", "a typed new password").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logout_all_signs_out_every_device() {
    let server = TestServer::start().await;
    let laptop = User::new(&server);
    laptop
        .run_with(
            &["signup", "--handle", "bob", "--password-stdin"],
            Some("bob-password\n"),
        )
        .await
        .ok();
    let phone = device(&server, "bob", "bob-password").await;
    let out: serde_json::Value = phone.run(&["logout", "--all", "--json"]).await.json();
    assert_eq!(out["signed_out"], true);
    assert_eq!(out["everywhere"], true);
    for user in [&laptop, &phone] {
        let after = user.run(&["whoami"]).await;
        assert_eq!(after.code, 2, "{after:#?}");
    }
    // Nothing left to sign out of here.
    let again = phone.run(&["logout", "--all"]).await;
    assert_eq!(again.code, 2, "{again:#?}");
    assert!(again.stderr.contains("not signed in"), "{again:#?}");
    // Signing in again works.
    let back = device(&server, "bob", "bob-password").await;
    assert!(back.run(&["logout"]).await.ok().contains("Signed out"));
}
