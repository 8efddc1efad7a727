//! Keys to [`Action`]s. One table, [`Keymap`], says which keys do what; the help overlay is
//! drawn from the same table, so it always lists the keys in force.

use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers, MouseEvent, MouseEventKind};

use super::action::{Action, FormKey};
use super::app::State;

/// One key with its modifiers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Key {
    /// The key itself.
    pub code: KeyCode,
    /// Ctrl, Alt… (Shift is folded into the character for printable keys).
    pub modifiers: KeyModifiers,
}

impl Key {
    /// A key without modifiers.
    pub const fn plain(code: KeyCode) -> Self {
        Self {
            code,
            modifiers: KeyModifiers::NONE,
        }
    }

    /// A character key.
    pub const fn char(c: char) -> Self {
        Self::plain(KeyCode::Char(c))
    }

    /// How the help overlay names the key: `j`, `↓`, `Enter`, `Ctrl-c`.
    pub fn label(&self) -> String {
        let code = match self.code {
            KeyCode::Char(' ') => "Space".to_owned(),
            KeyCode::Char(c) => c.to_string(),
            KeyCode::Up => "↑".to_owned(),
            KeyCode::Down => "↓".to_owned(),
            KeyCode::Left => "←".to_owned(),
            KeyCode::Right => "→".to_owned(),
            KeyCode::Enter => "Enter".to_owned(),
            KeyCode::Esc => "Esc".to_owned(),
            KeyCode::Tab => "Tab".to_owned(),
            KeyCode::BackTab => "Shift-Tab".to_owned(),
            KeyCode::Backspace => "Backspace".to_owned(),
            KeyCode::PageUp => "PgUp".to_owned(),
            KeyCode::PageDown => "PgDn".to_owned(),
            other => format!("{other:?}"),
        };
        if self.modifiers.contains(KeyModifiers::CONTROL) {
            format!("Ctrl-{code}")
        } else {
            code
        }
    }

    /// Whether a terminal key event is this key. Shift is ignored for characters, since
    /// terminals report `?` as Shift+`?` or as `?` alone.
    fn matches(&self, event: &KeyEvent) -> bool {
        let mut modifiers = event.modifiers;
        if matches!(event.code, KeyCode::Char(_) | KeyCode::BackTab) {
            modifiers.remove(KeyModifiers::SHIFT);
        }
        self.code == event.code && self.modifiers == modifiers
    }
}

/// What a set of keys does, and how the help overlay says it.
#[derive(Clone, Debug, PartialEq)]
pub struct Binding {
    /// The action's name in the config file's `keys` table (`down`, `quit`…).
    pub name: &'static str,
    /// The keys, first one shown first.
    pub keys: Vec<Key>,
    /// What they do.
    pub action: Action,
    /// The help overlay's words for it.
    pub help: &'static str,
}

/// The keys in force, in the order the help overlay lists them.
#[derive(Clone, Debug, PartialEq)]
pub struct Keymap {
    /// The bindings; the first that matches a key wins.
    pub bindings: Vec<Binding>,
}

impl Default for Keymap {
    /// Vim keys and arrows.
    fn default() -> Self {
        use KeyCode::{BackTab, Backspace, Down, Enter, Esc, Left, Right, Tab, Up};
        let bind = |keys: Vec<Key>, action: Action, help| Binding {
            name: action_name(&action),
            keys,
            action,
            help,
        };
        Self {
            bindings: vec![
                bind(vec![Key::char('k'), Key::plain(Up)], Action::Up, "move up"),
                bind(
                    vec![Key::char('j'), Key::plain(Down)],
                    Action::Down,
                    "move down",
                ),
                bind(vec![Key::plain(KeyCode::PageUp)], Action::PageUp, "page up"),
                bind(
                    vec![Key::plain(KeyCode::PageDown)],
                    Action::PageDown,
                    "page down",
                ),
                bind(
                    vec![Key::char('l'), Key::plain(Right), Key::plain(Tab)],
                    Action::NextTab,
                    "next category",
                ),
                bind(
                    vec![Key::char('h'), Key::plain(Left), Key::plain(BackTab)],
                    Action::PrevTab,
                    "prev category",
                ),
                bind(vec![Key::char('/')], Action::StartSearch, "search"),
                bind(vec![Key::char('r')], Action::Refresh, "refresh"),
                bind(vec![Key::char('b')], Action::Buy, "buy a ticket"),
                bind(vec![Key::char('t')], Action::Tickets, "my tickets"),
                bind(
                    vec![Key::plain(Enter)],
                    Action::Open,
                    "open; in the room: type",
                ),
                bind(vec![Key::char('c')], Action::EnterRoom, "live room"),
                bind(vec![Key::char('p')], Action::Play, "play / stop"),
                bind(
                    vec![Key::char('i')],
                    Action::ToggleVideoOutput,
                    "video window/terminal",
                ),
                bind(
                    vec![Key::char('f')],
                    Action::ToggleFullScreen,
                    "video full screen",
                ),
                bind(vec![Key::char('s')], Action::SignIn, "sign in"),
                bind(vec![Key::char('w')], Action::Wallet, "wallet"),
                bind(vec![Key::char('+')], Action::TopUp, "top up (wallet)"),
                bind(vec![Key::char('g')], Action::MyGigs, "my gigs"),
                bind(vec![Key::char('v')], Action::RevealKey, "show stream key"),
                bind(
                    vec![Key::char('o')],
                    Action::RequestPayout,
                    "pay out (my gigs)",
                ),
                bind(
                    vec![Key::char('e')],
                    Action::CycleReplayWindow,
                    "replay time (my gigs)",
                ),
                bind(
                    vec![Key::plain(Esc), Key::plain(Backspace)],
                    Action::Back,
                    "back",
                ),
                bind(vec![Key::char('m')], Action::ToggleMouse, "mouse on/off"),
                bind(vec![Key::char('?')], Action::Help, "this help"),
                bind(
                    vec![
                        Key::char('q'),
                        Key {
                            code: KeyCode::Char('c'),
                            modifiers: KeyModifiers::CONTROL,
                        },
                    ],
                    Action::Quit,
                    "quit",
                ),
            ],
        }
    }
}

/// The config-file name of a bindable action.
fn action_name(action: &Action) -> &'static str {
    match action {
        Action::Up => "up",
        Action::Down => "down",
        Action::PageUp => "page_up",
        Action::PageDown => "page_down",
        Action::NextTab => "next_tab",
        Action::PrevTab => "prev_tab",
        Action::StartSearch => "search",
        Action::Refresh => "refresh",
        Action::Buy => "buy",
        Action::Tickets => "tickets",
        Action::Open => "open",
        Action::EnterRoom => "room",
        Action::Play => "play",
        Action::ToggleVideoOutput => "video_output",
        Action::ToggleFullScreen => "full_screen",
        Action::SignIn => "sign_in",
        Action::Wallet => "wallet",
        Action::TopUp => "top_up",
        Action::MyGigs => "my_gigs",
        Action::RevealKey => "reveal_key",
        Action::RequestPayout => "pay_out",
        Action::CycleReplayWindow => "replay_window",
        Action::Back => "back",
        Action::ToggleMouse => "mouse",
        Action::Help => "help",
        Action::Quit => "quit",
        _ => "",
    }
}

impl Key {
    /// Parses a key name of the config file: one character (`j`, `?`), a named key (`Up`,
    /// `Down`, `Left`, `Right`, `Enter`, `Esc`, `Tab`, `BackTab`, `Backspace`, `Space`,
    /// `PageUp`, `PageDown`), or
    /// either after `Ctrl-`.
    ///
    /// # Errors
    /// The name, when it is none of these.
    pub fn parse(name: &str) -> Result<Self, String> {
        if let Some(rest) = name.strip_prefix("Ctrl-") {
            let mut key = Key::parse(rest)?;
            key.modifiers = KeyModifiers::CONTROL;
            return Ok(key);
        }
        let mut chars = name.chars();
        if let (Some(c), None) = (chars.next(), chars.next()) {
            return Ok(Key::char(c));
        }
        let code = match name {
            "Up" => KeyCode::Up,
            "Down" => KeyCode::Down,
            "Left" => KeyCode::Left,
            "Right" => KeyCode::Right,
            "Enter" => KeyCode::Enter,
            "Esc" => KeyCode::Esc,
            "Tab" => KeyCode::Tab,
            "BackTab" => KeyCode::BackTab,
            "Backspace" => KeyCode::Backspace,
            "PageUp" => KeyCode::PageUp,
            "PageDown" => KeyCode::PageDown,
            "Space" => KeyCode::Char(' '),
            _ => return Err(format!("unknown key `{name}`")),
        };
        Ok(Key::plain(code))
    }
}

impl Keymap {
    /// The default keymap with the config file's rebindings: each named action gets exactly
    /// the keys listed (a key given to one action is taken from any other).
    ///
    /// # Errors
    /// An unknown action or key name, or an action left without keys, in words.
    pub fn rebind(
        overrides: &std::collections::BTreeMap<String, Vec<String>>,
    ) -> Result<Self, String> {
        let mut keymap = Keymap::default();
        for (name, names) in overrides {
            let keys = names
                .iter()
                .map(|key| Key::parse(key))
                .collect::<Result<Vec<_>, _>>()
                .map_err(|err| format!("keys.{name}: {err}"))?;
            if keys.is_empty() {
                return Err(format!("keys.{name}: give at least one key"));
            }
            if !keymap.bindings.iter().any(|b| b.name == name.as_str()) {
                let known: Vec<_> = keymap.bindings.iter().map(|b| b.name).collect();
                return Err(format!(
                    "keys.{name}: unknown action, expected one of {}",
                    known.join(", ")
                ));
            }
            for binding in &mut keymap.bindings {
                if binding.name == name.as_str() {
                    binding.keys.clone_from(&keys);
                } else {
                    binding.keys.retain(|key| !keys.contains(key));
                }
            }
        }
        Ok(keymap)
    }

    /// The label of the first key bound to the action named `name` (`"?"` for `help` by
    /// default), for hints that follow the keymap in force.
    pub fn first_key(&self, name: &str) -> Option<String> {
        self.bindings
            .iter()
            .find(|binding| binding.name == name)
            .and_then(|binding| binding.keys.first())
            .map(Key::label)
    }

    /// The action bound to `event`, if any.
    pub fn action(&self, event: &KeyEvent) -> Option<Action> {
        self.bindings
            .iter()
            .find(|binding| binding.keys.iter().any(|key| key.matches(event)))
            .map(|binding| binding.action.clone())
    }
}

/// What a key press means in the current state: yes or no while the buy dialog is open, typed
/// text while the search line has focus, else whatever the keymap says. Ctrl-c always quits. Releases and repeats of releases are
/// ignored (terminals with the kitty protocol report them).
pub fn map_key(state: &State, event: &KeyEvent) -> Option<Action> {
    if event.kind == KeyEventKind::Release {
        return None;
    }
    if event.modifiers.contains(KeyModifiers::CONTROL) && event.code == KeyCode::Char('c') {
        return Some(Action::Quit);
    }
    // Alt-letters are not text nor answers (a fast Esc then a letter arrives as one).
    let chord = event
        .modifiers
        .intersects(KeyModifiers::CONTROL | KeyModifiers::ALT);
    // The buy dialog answers yes or no, unless its top-up dialog is open over it.
    if state.buy.is_some() && state.wallet.top_up.is_none() {
        if chord {
            return None;
        }
        return match event.code {
            KeyCode::Char('y') | KeyCode::Enter => Some(Action::Confirm),
            KeyCode::Char('n' | 'q') | KeyCode::Esc => Some(Action::Back),
            _ => None,
        };
    }
    if state.form.is_some() {
        return form_key(event, chord).map(Action::Form);
    }
    if let Some(dialog) = &state.wallet.top_up {
        return match event.code {
            KeyCode::Enter => Some(Action::Confirm),
            KeyCode::Esc => Some(Action::Back),
            // Nothing to type while the wallet is asked: the mouse switch frees the consent
            // page for the terminal's own selection.
            _ if !dialog.editable() => state
                .keymap
                .action(event)
                .filter(|action| *action == Action::ToggleMouse),
            _ => form_key(event, chord).and_then(|key| match key {
                FormKey::Edit(edit) => Some(Action::TopUpEdit(edit)),
                FormKey::Next | FormKey::Prev => Some(Action::TopUpNextField),
                FormKey::Submit | FormKey::Cancel | FormKey::SwitchMode => None,
            }),
        };
    }
    if let Some(room) = state.room.as_ref().filter(|room| room.typing) {
        return typing(event, chord, room.input.is_empty());
    }
    if let Some(action) = replay_key(state, event) {
        return Some(action);
    }
    if state.searching {
        return match event.code {
            KeyCode::Enter => Some(Action::SearchSubmit),
            KeyCode::Esc => Some(Action::SearchCancel),
            KeyCode::Backspace => Some(Action::SearchBackspace),
            KeyCode::Char(c) if !chord => Some(Action::SearchInput(c)),
            _ => None,
        };
    }
    state.keymap.action(event)
}

/// The keys of a replay, fixed rather than in the keymap (whose ← and → choose categories,
/// which mean nothing in a room): ←/→ seek 10 s, Shift-←/→ a minute, Space pauses.
fn replay_key(state: &State, event: &KeyEvent) -> Option<Action> {
    use super::app::Screen;
    use super::replay::{SEEK_LONG_S, SEEK_SHORT_S};
    if state.screen != Screen::Room || state.room.as_ref()?.replay.is_none() {
        return None;
    }
    let step = if event.modifiers.contains(KeyModifiers::SHIFT) {
        SEEK_LONG_S
    } else {
        SEEK_SHORT_S
    };
    let other = event
        .modifiers
        .intersects(KeyModifiers::CONTROL | KeyModifiers::ALT);
    match event.code {
        _ if other => None,
        KeyCode::Left => Some(Action::Seek(-step)),
        KeyCode::Right => Some(Action::Seek(step)),
        KeyCode::Char(' ') => Some(Action::TogglePause),
        _ => None,
    }
}

/// What a key means in the sign-in form: Tab and the arrows move between rows, Enter sends,
/// Esc closes, the rest edits the focused field.
fn form_key(event: &KeyEvent, chord: bool) -> Option<FormKey> {
    use super::line_editor::Edit;
    if event.modifiers.contains(KeyModifiers::CONTROL) {
        return match event.code {
            KeyCode::Char('a') => Some(FormKey::Edit(Edit::Home)),
            KeyCode::Char('e') => Some(FormKey::Edit(Edit::End)),
            KeyCode::Char('u') => Some(FormKey::Edit(Edit::KillToStart)),
            KeyCode::Char('w') | KeyCode::Backspace => Some(FormKey::Edit(Edit::DeleteWord)),
            KeyCode::Char('n') => Some(FormKey::SwitchMode),
            _ => None,
        };
    }
    let edit = match event.code {
        KeyCode::Enter => return Some(FormKey::Submit),
        KeyCode::Esc => return Some(FormKey::Cancel),
        KeyCode::Tab | KeyCode::Down => return Some(FormKey::Next),
        KeyCode::BackTab | KeyCode::Up => return Some(FormKey::Prev),
        KeyCode::Backspace => Edit::Backspace,
        KeyCode::Delete => Edit::Delete,
        KeyCode::Left => Edit::Left,
        KeyCode::Right => Edit::Right,
        KeyCode::Home => Edit::Home,
        KeyCode::End => Edit::End,
        KeyCode::Char(c) if !chord => Edit::Insert(c),
        _ => return None,
    };
    Some(FormKey::Edit(edit))
}

/// What a key means while typing in the chat: editing keys as in a shell (Ctrl-a, Ctrl-e,
/// Ctrl-u, Ctrl-w, Up/Down for the history), Enter sends, Esc stops typing. Backspace on an
/// empty line stops typing too, so it cannot be mistaken for "back".
fn typing(event: &KeyEvent, chord: bool, empty: bool) -> Option<Action> {
    use super::line_editor::Edit;
    if event.modifiers.contains(KeyModifiers::CONTROL) {
        return match event.code {
            KeyCode::Char('a') => Some(Action::Edit(Edit::Home)),
            KeyCode::Char('e') => Some(Action::Edit(Edit::End)),
            KeyCode::Char('u') => Some(Action::Edit(Edit::KillToStart)),
            KeyCode::Char('w') | KeyCode::Backspace => Some(Action::Edit(Edit::DeleteWord)),
            _ => None,
        };
    }
    let edit = match event.code {
        KeyCode::Enter => return Some(Action::Send),
        KeyCode::Esc => return Some(Action::StopTyping),
        KeyCode::Backspace if empty => return Some(Action::StopTyping),
        KeyCode::Backspace => Edit::Backspace,
        KeyCode::Delete => Edit::Delete,
        KeyCode::Left => Edit::Left,
        KeyCode::Right => Edit::Right,
        KeyCode::Home => Edit::Home,
        KeyCode::End => Edit::End,
        KeyCode::Up => Edit::Older,
        KeyCode::Down => Edit::Newer,
        KeyCode::Char(c) if !chord => Edit::Insert(c),
        _ => return None,
    };
    Some(Action::Edit(edit))
}

/// What a mouse event means on a screen of size `area`: the wheel moves the selection, a left
/// click selects what is under it (see [`ui::click`](super::ui::click)). Only seen while
/// capture is on.
pub fn map_mouse(state: &State, area: ratatui::layout::Rect, event: &MouseEvent) -> Option<Action> {
    match event.kind {
        MouseEventKind::ScrollDown => Some(Action::Down),
        MouseEventKind::ScrollUp => Some(Action::Up),
        MouseEventKind::Down(crossterm::event::MouseButton::Left) => {
            super::ui::click(state, area, event.column, event.row)
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tui::app::Zone;

    fn press(code: KeyCode, modifiers: KeyModifiers) -> KeyEvent {
        KeyEvent::new(code, modifiers)
    }

    fn state() -> State {
        State::for_tests(Zone::Local)
    }

    #[test]
    fn in_a_replay_arrows_seek_shift_seeks_further_and_space_pauses() {
        let mut state = state();
        let mut room = crate::tui::room::Room::new(1, crate::tui::sample::replay_gig());
        room.replay = Some(crate::tui::replay::ReplayView::default());
        state.room = Some(room);
        state.screen = crate::tui::app::Screen::Room;
        let key = |code, modifiers| map_key(&state, &press(code, modifiers));
        assert_eq!(
            key(KeyCode::Left, KeyModifiers::NONE),
            Some(Action::Seek(-10))
        );
        assert_eq!(
            key(KeyCode::Right, KeyModifiers::NONE),
            Some(Action::Seek(10))
        );
        assert_eq!(
            key(KeyCode::Left, KeyModifiers::SHIFT),
            Some(Action::Seek(-60))
        );
        assert_eq!(
            key(KeyCode::Right, KeyModifiers::SHIFT),
            Some(Action::Seek(60))
        );
        assert_eq!(
            key(KeyCode::Char(' '), KeyModifiers::NONE),
            Some(Action::TogglePause)
        );
        assert_eq!(key(KeyCode::Esc, KeyModifiers::NONE), Some(Action::Back));
        // Elsewhere the arrows keep their meaning.
        state.screen = crate::tui::app::Screen::Catalogue;
        assert_eq!(
            map_key(&state, &press(KeyCode::Right, KeyModifiers::NONE)),
            Some(Action::NextTab)
        );
        state.screen = crate::tui::app::Screen::Room;
        if let Some(room) = &mut state.room {
            room.replay = None;
        }
        assert_eq!(
            map_key(&state, &press(KeyCode::Right, KeyModifiers::NONE)),
            Some(Action::NextTab),
            "a live room has no seeking"
        );
    }

    #[test]
    fn vim_keys_and_arrows_both_move() {
        let state = state();
        for code in [KeyCode::Char('j'), KeyCode::Down] {
            assert_eq!(
                map_key(&state, &press(code, KeyModifiers::NONE)),
                Some(Action::Down)
            );
        }
        for code in [KeyCode::Char('k'), KeyCode::Up] {
            assert_eq!(
                map_key(&state, &press(code, KeyModifiers::NONE)),
                Some(Action::Up)
            );
        }
    }

    #[test]
    fn question_mark_with_shift_opens_help() {
        assert_eq!(
            map_key(&state(), &press(KeyCode::Char('?'), KeyModifiers::SHIFT)),
            Some(Action::Help)
        );
    }

    #[test]
    fn while_searching_letters_are_text_not_commands() {
        let mut state = state();
        state.searching = true;
        assert_eq!(
            map_key(&state, &press(KeyCode::Char('q'), KeyModifiers::NONE)),
            Some(Action::SearchInput('q'))
        );
        assert_eq!(
            map_key(&state, &press(KeyCode::Esc, KeyModifiers::NONE)),
            Some(Action::SearchCancel)
        );
        assert_eq!(
            map_key(&state, &press(KeyCode::Char('c'), KeyModifiers::CONTROL)),
            Some(Action::Quit)
        );
    }

    #[test]
    fn a_rebound_key_is_what_the_keymap_says() {
        let mut state = state();
        state.keymap.bindings.insert(
            0,
            Binding {
                name: "quit",
                keys: vec![Key::char('x')],
                action: Action::Quit,
                help: "quit",
            },
        );
        assert_eq!(
            map_key(&state, &press(KeyCode::Char('x'), KeyModifiers::NONE)),
            Some(Action::Quit)
        );
    }

    #[test]
    fn the_buy_dialog_answers_y_and_n_only() {
        let mut state = state();
        state.buy = Some(crate::tui::app::BuyDialog {
            gig: crate::tui::sample::gigs().remove(0),
            balance: None,
            balance_error: None,
            phase: crate::tui::app::BuyPhase::Confirm,
            idempotency_key: "k".to_owned(),
        });
        assert_eq!(
            map_key(&state, &press(KeyCode::Char('y'), KeyModifiers::NONE)),
            Some(Action::Confirm)
        );
        assert_eq!(
            map_key(&state, &press(KeyCode::Char('n'), KeyModifiers::NONE)),
            Some(Action::Back)
        );
        assert_eq!(
            map_key(&state, &press(KeyCode::Char('j'), KeyModifiers::NONE)),
            None
        );
        assert_eq!(
            map_key(&state, &press(KeyCode::Char('q'), KeyModifiers::ALT)),
            None
        );
    }

    #[test]
    fn the_wheel_moves_the_selection() {
        let wheel = |kind| MouseEvent {
            kind,
            column: 3,
            row: 4,
            modifiers: KeyModifiers::NONE,
        };
        let (state, area) = (state(), ratatui::layout::Rect::new(0, 0, 80, 24));
        assert_eq!(
            map_mouse(&state, area, &wheel(MouseEventKind::ScrollDown)),
            Some(Action::Down)
        );
        assert_eq!(
            map_mouse(&state, area, &wheel(MouseEventKind::ScrollUp)),
            Some(Action::Up)
        );
        assert_eq!(map_mouse(&state, area, &wheel(MouseEventKind::Moved)), None);
        assert_eq!(
            map_mouse(
                &state,
                area,
                &wheel(MouseEventKind::Down(crossterm::event::MouseButton::Left))
            ),
            Some(Action::Select(2)),
            "a click on the list's third row"
        );
    }

    #[test]
    fn the_config_file_rebinds_keys_and_the_help_lists_them() {
        let overrides = [
            ("down".to_owned(), vec!["n".to_owned(), "Down".to_owned()]),
            ("quit".to_owned(), vec!["Ctrl-q".to_owned(), "j".to_owned()]),
        ]
        .into_iter()
        .collect();
        let mut state = state();
        state.keymap = Keymap::rebind(&overrides).unwrap_or_else(|err| panic!("{err}"));
        assert_eq!(
            map_key(&state, &press(KeyCode::Char('n'), KeyModifiers::NONE)),
            Some(Action::Down)
        );
        assert_eq!(
            map_key(&state, &press(KeyCode::Char('j'), KeyModifiers::NONE)),
            Some(Action::Quit),
            "a key given to another action moves there"
        );
        assert_eq!(
            map_key(&state, &press(KeyCode::Char('q'), KeyModifiers::CONTROL)),
            Some(Action::Quit)
        );
        assert_eq!(
            map_key(&state, &press(KeyCode::Char('q'), KeyModifiers::NONE)),
            None
        );
        let down = state.keymap.bindings.iter().find(|b| b.name == "down");
        assert_eq!(
            down.map(|b| b.keys.iter().map(Key::label).collect::<Vec<_>>()),
            Some(vec!["n".to_owned(), "↓".to_owned()])
        );
    }

    #[test]
    fn bad_rebindings_are_named() {
        let one = |action: &str, key: &str| {
            Keymap::rebind(
                &[(action.to_owned(), vec![key.to_owned()])]
                    .into_iter()
                    .collect(),
            )
        };
        assert_eq!(
            one("down", "Insert").err().as_deref(),
            Some("keys.down: unknown key `Insert`")
        );
        assert!(
            one("fly", "f")
                .err()
                .is_some_and(|e| e.starts_with("keys.fly: unknown action"))
        );
        assert!(Keymap::rebind(&[("up".to_owned(), Vec::new())].into_iter().collect()).is_err());
    }

    #[test]
    fn while_typing_in_the_chat_keys_edit_the_line() {
        use crate::tui::line_editor::Edit;
        let mut state = state();
        let mut room = crate::tui::room::Room::new(1, crate::tui::sample::gigs().remove(0));
        room.typing = true;
        state.room = Some(room);
        let key = |code, modifiers| map_key(&state, &press(code, modifiers));
        assert_eq!(
            key(KeyCode::Char('q'), KeyModifiers::NONE),
            Some(Action::Edit(Edit::Insert('q')))
        );
        assert_eq!(
            key(KeyCode::Char('w'), KeyModifiers::CONTROL),
            Some(Action::Edit(Edit::DeleteWord))
        );
        assert_eq!(
            key(KeyCode::Up, KeyModifiers::NONE),
            Some(Action::Edit(Edit::Older))
        );
        assert_eq!(key(KeyCode::Enter, KeyModifiers::NONE), Some(Action::Send));
        assert_eq!(
            key(KeyCode::Esc, KeyModifiers::NONE),
            Some(Action::StopTyping)
        );
        assert_eq!(
            key(KeyCode::Backspace, KeyModifiers::NONE),
            Some(Action::StopTyping),
            "on an empty line"
        );
        assert_eq!(
            key(KeyCode::Char('c'), KeyModifiers::CONTROL),
            Some(Action::Quit)
        );
    }

    #[test]
    fn the_sign_in_form_takes_every_key() {
        use crate::tui::line_editor::Edit;
        let mut state = state();
        state.form = Some(crate::tui::sign_in::SignInForm::new("http://h"));
        let key = |code| map_key(&state, &press(code, KeyModifiers::NONE));
        assert_eq!(
            key(KeyCode::Char('q')),
            Some(Action::Form(FormKey::Edit(Edit::Insert('q'))))
        );
        assert_eq!(key(KeyCode::Tab), Some(Action::Form(FormKey::Next)));
        assert_eq!(key(KeyCode::BackTab), Some(Action::Form(FormKey::Prev)));
        assert_eq!(key(KeyCode::Enter), Some(Action::Form(FormKey::Submit)));
        assert_eq!(key(KeyCode::Esc), Some(Action::Form(FormKey::Cancel)));
        assert_eq!(
            map_key(&state, &press(KeyCode::Char('n'), KeyModifiers::CONTROL)),
            Some(Action::Form(FormKey::SwitchMode))
        );
    }

    #[test]
    fn key_releases_are_ignored() {
        let mut event = press(KeyCode::Char('j'), KeyModifiers::NONE);
        event.kind = KeyEventKind::Release;
        assert_eq!(map_key(&state(), &event), None);
    }
}
