//! Opening a web page for the person at the terminal: the page where they approve a top-up in
//! their wallet. Both `bookmygig wallet topup` and the TUI's top-up dialog use it.

use std::ffi::OsString;
use std::process::{Command, Stdio};

/// Opens `url` in the desktop's browser (`xdg-open`) when there is a desktop (`DISPLAY` or
/// `WAYLAND_DISPLAY` set); best effort and silent: nothing is waited for, nothing printed, and
/// without a desktop nothing happens (the caller shows the address anyway).
pub fn open_in_browser(url: &str) {
    if has_desktop(|name| std::env::var_os(name)) {
        // Its output would scribble over a full-screen terminal; its outcome is not ours to tell.
        let _ = Command::new("xdg-open")
            .arg(url)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn();
    }
}

/// Whether the environment (`var`) names a graphical session a browser could open on.
fn has_desktop(var: impl Fn(&str) -> Option<OsString>) -> bool {
    ["DISPLAY", "WAYLAND_DISPLAY"]
        .iter()
        .any(|name| var(name).is_some_and(|value| !value.is_empty()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_desktop_is_a_non_empty_display_or_wayland_display() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |name: &str| {
                pairs
                    .iter()
                    .find(|(key, _)| *key == name)
                    .map(|(_, value)| OsString::from(value))
            }
        };
        assert!(has_desktop(env(&[("DISPLAY", ":0")])));
        assert!(has_desktop(env(&[("WAYLAND_DISPLAY", "wayland-0")])));
        assert!(!has_desktop(env(&[("DISPLAY", "")])));
        assert!(!has_desktop(env(&[])));
    }
}
