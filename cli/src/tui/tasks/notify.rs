//! Telling the person at the terminal, outside the screen: a desktop notification through the
//! terminal (OSC 9, OSC 777 or kitty's OSC 99) where the terminal is known to show one, else
//! the bell. Which one is decided from the terminal's identification: `BOOKMYGIG_NOTIFY` first
//! (`osc9`, `osc777`, `osc99`, `bell`, `off`), then `TERM_PROGRAM`, `TERM` and the variables
//! terminals set. Unknown terminals, and multiplexers (tmux and screen swallow these sequences
//! unless told to pass them through), get the bell, which every terminal understands.

use std::io::Write as _;

/// How a notification reaches the person.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// `ESC ] 9 ; body BEL` (iTerm2 and others).
    Osc9,
    /// `ESC ] 777 ; notify ; title ; body BEL` (rxvt-unicode, foot, WezTerm, Ghostty).
    Osc777,
    /// `ESC ] 99 ; ; title: body ESC \` (kitty's own).
    Osc99,
    /// `BEL`: the terminal's bell (or its visual bell, or its multiplexer's alert).
    Bell,
    /// Nothing.
    Off,
}

impl Kind {
    /// The kind for the terminal described by `var` (an environment lookup).
    pub fn detect(var: impl Fn(&str) -> Option<String>) -> Kind {
        if let Some(choice) = var("BOOKMYGIG_NOTIFY") {
            match choice.trim().to_ascii_lowercase().as_str() {
                "osc9" => return Kind::Osc9,
                "osc777" => return Kind::Osc777,
                "osc99" => return Kind::Osc99,
                "bell" => return Kind::Bell,
                "off" | "none" => return Kind::Off,
                // Anything else: as if unset.
                _ => {}
            }
        }
        let term = var("TERM").unwrap_or_default();
        if var("TMUX").is_some()
            || var("STY").is_some()
            || term.starts_with("screen")
            || term.starts_with("tmux")
        {
            return Kind::Bell;
        }
        match var("TERM_PROGRAM").as_deref() {
            Some("iTerm.app") => return Kind::Osc9,
            Some("WezTerm" | "ghostty") => return Kind::Osc777,
            _ => {}
        }
        if var("KITTY_WINDOW_ID").is_some() || term == "xterm-kitty" {
            return Kind::Osc99;
        }
        if term == "xterm-ghostty" || term.starts_with("foot") || term.starts_with("rxvt-unicode") {
            return Kind::Osc777;
        }
        Kind::Bell
    }

    /// The bytes that notify of `body` under `title`.
    pub fn sequence(self, title: &str, body: &str) -> String {
        let (title, body) = (clean(title), clean(body));
        match self {
            Kind::Osc9 => format!("\x1b]9;{title}: {body}\x07"),
            // Its fields are separated by semicolons: none may be in them.
            Kind::Osc777 => format!(
                "\x1b]777;notify;{};{}\x07",
                title.replace(';', ","),
                body.replace(';', ",")
            ),
            Kind::Osc99 => format!("\x1b]99;;{title}: {body}\x1b\\"),
            Kind::Bell => "\x07".to_owned(),
            Kind::Off => String::new(),
        }
    }
}

/// `text` without control characters, which could end the sequence early or start another.
fn clean(text: &str) -> String {
    text.chars().filter(|c| !c.is_control()).collect()
}

/// Notifies on the terminal. Called from the event loop between draws, so the sequence never
/// lands inside one of the screen's own; a failed write only loses the notification.
pub(super) fn send(title: &str, body: &str) {
    let sequence = Kind::detect(|name| std::env::var(name).ok()).sequence(title, body);
    if sequence.is_empty() {
        return;
    }
    let mut stdout = std::io::stdout().lock();
    let _ = stdout
        .write_all(sequence.as_bytes())
        .and_then(|()| stdout.flush());
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind(vars: &[(&str, &str)]) -> Kind {
        Kind::detect(|name| {
            vars.iter()
                .find(|(key, _)| *key == name)
                .map(|(_, value)| (*value).to_owned())
        })
    }

    #[test]
    fn known_terminals_get_their_notification_and_the_rest_the_bell() {
        assert_eq!(kind(&[("TERM_PROGRAM", "iTerm.app")]), Kind::Osc9);
        assert_eq!(kind(&[("TERM_PROGRAM", "WezTerm")]), Kind::Osc777);
        assert_eq!(kind(&[("TERM", "xterm-ghostty")]), Kind::Osc777);
        assert_eq!(kind(&[("TERM", "foot")]), Kind::Osc777);
        assert_eq!(kind(&[("TERM", "rxvt-unicode-256color")]), Kind::Osc777);
        assert_eq!(kind(&[("TERM", "xterm-kitty")]), Kind::Osc99);
        assert_eq!(kind(&[("TERM", "xterm-256color")]), Kind::Bell);
        assert_eq!(kind(&[("TERM_PROGRAM", "Apple_Terminal")]), Kind::Bell);
        assert_eq!(kind(&[]), Kind::Bell);
    }

    #[test]
    fn multiplexers_get_the_bell_whatever_runs_them() {
        assert_eq!(
            kind(&[
                ("TERM_PROGRAM", "iTerm.app"),
                ("TMUX", "/tmp/tmux-0/default,1,0")
            ]),
            Kind::Bell
        );
        assert_eq!(kind(&[("TERM", "screen-256color")]), Kind::Bell);
        assert_eq!(kind(&[("TERM", "tmux-256color")]), Kind::Bell);
    }

    #[test]
    fn the_environment_variable_decides_first() {
        assert_eq!(
            kind(&[("BOOKMYGIG_NOTIFY", "osc9"), ("TMUX", "x")]),
            Kind::Osc9
        );
        assert_eq!(kind(&[("BOOKMYGIG_NOTIFY", "off")]), Kind::Off);
        assert_eq!(
            kind(&[("BOOKMYGIG_NOTIFY", "sparkles"), ("TERM", "foot")]),
            Kind::Osc777
        );
    }

    #[test]
    fn sequences_carry_the_text_without_control_characters() {
        assert_eq!(
            Kind::Osc9.sequence("BookMyGig", "Jazz is live now"),
            "\x1b]9;BookMyGig: Jazz is live now\x07"
        );
        assert_eq!(
            Kind::Osc777.sequence("BookMyGig", "Jazz; blues\x07\x1b]0;x is live"),
            "\x1b]777;notify;BookMyGig;Jazz, blues]0,x is live\x07"
        );
        assert_eq!(
            Kind::Osc99.sequence("BookMyGig", "on"),
            "\x1b]99;;BookMyGig: on\x1b\\"
        );
        assert_eq!(Kind::Bell.sequence("t", "b"), "\x07");
        assert_eq!(Kind::Off.sequence("t", "b"), "");
    }
}
