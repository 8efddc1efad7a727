//! Styles of the TUI. With colour off (`NO_COLOR` set, see <https://no-color.org>) every style
//! keeps only its modifiers (bold, reverse…), so nothing depends on colour to be read.

use ratatui::style::{Color, Modifier, Style};

/// Whether colour is allowed: `NO_COLOR` unset or empty.
pub fn color_from_env() -> bool {
    std::env::var_os("NO_COLOR").is_none_or(|value| value.is_empty())
}

/// The styles in use, with or without colour.
#[derive(Clone, Copy, Debug)]
pub struct Theme {
    /// Colours are allowed.
    color: bool,
}

impl Theme {
    /// The theme for a state's colour setting.
    pub fn new(color: bool) -> Self {
        Self { color }
    }

    /// `style` with its colours dropped when colour is off.
    fn paint(self, style: Style) -> Style {
        if self.color {
            style
        } else {
            Style {
                fg: None,
                bg: None,
                ..style
            }
        }
    }

    /// Headings and the selected tab.
    pub fn accent(self) -> Style {
        self.paint(Style::new().fg(Color::Cyan).add_modifier(Modifier::BOLD))
    }

    /// The selected list row.
    pub fn selected(self) -> Style {
        self.paint(Style::new().add_modifier(Modifier::REVERSED))
    }

    /// The LIVE badge.
    pub fn live(self) -> Style {
        if self.color {
            Style::new()
                .fg(Color::White)
                .bg(Color::Red)
                .add_modifier(Modifier::BOLD)
        } else {
            Style::new().add_modifier(Modifier::BOLD | Modifier::REVERSED)
        }
    }

    /// Errors.
    pub fn error(self) -> Style {
        self.paint(Style::new().fg(Color::Red).add_modifier(Modifier::BOLD))
    }

    /// Secondary text: labels, hints.
    pub fn dim(self) -> Style {
        self.paint(Style::new().fg(Color::DarkGray))
    }

    /// Bold text (titles).
    pub fn bold(self) -> Style {
        Style::new().add_modifier(Modifier::BOLD)
    }

    /// The sparklines.
    pub fn chart(self) -> Style {
        self.paint(Style::new().fg(Color::Green))
    }

    /// A chat handle: one of a few colours, always the same for the same handle, and bold.
    pub fn handle(self, handle: &str) -> Style {
        const PALETTE: [Color; 6] = [
            Color::Green,
            Color::Yellow,
            Color::Blue,
            Color::Magenta,
            Color::Cyan,
            Color::LightRed,
        ];
        // FNV-1a: stable across runs and platforms, unlike the std hasher.
        let hash = handle
            .bytes()
            .fold(0xcbf2_9ce4_8422_2325_u64, |hash, byte| {
                (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3)
            });
        let color = PALETTE[usize::try_from(hash % PALETTE.len() as u64).unwrap_or(0)];
        self.paint(Style::new().fg(color).add_modifier(Modifier::BOLD))
    }
}
