//! The sign-in / sign-up form, centred over the catalogue: the mode, the server, the fields
//! (the password as dots), the error of the last try, and the keys.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};

use super::popup;
use super::theme::Theme;
use crate::tui::app::State;
use crate::tui::line_editor::LineEditor;
use crate::tui::sign_in::{Field, Mode, SignInForm};

/// Width of the labels column.
const LABEL: usize = 14;

/// Draws the form centred over `area`.
pub fn form(frame: &mut Frame<'_>, area: Rect, state: &State, form: &SignInForm) {
    let theme = Theme::new(state.color);
    let width = area.width.clamp(40, 64);
    let field_width = usize::from(width).saturating_sub(LABEL + 5);
    let marker = |field: Field| {
        if form.focus == field {
            Span::styled("› ", theme.accent())
        } else {
            Span::raw("  ")
        }
    };
    let mode = |which: Mode, name: &'static str| {
        if form.mode == which {
            Span::styled(format!(" {name} "), theme.selected())
        } else {
            Span::styled(format!(" {name} "), theme.dim())
        }
    };
    let mut lines = vec![
        Line::from(vec![
            marker(Field::Mode),
            mode(Mode::SignIn, "Sign in"),
            Span::raw(" "),
            mode(Mode::SignUp, "Sign up"),
            Span::styled(
                if form.focus == Field::Mode {
                    "  (Space switches)"
                } else {
                    ""
                },
                theme.dim(),
            ),
        ]),
        Line::from(""),
    ];
    let mut row = |field: Field, label: &str, editor: &LineEditor, secret: bool| {
        let text: String = if secret {
            "•".repeat(editor.text().chars().count())
        } else {
            editor.text()
        };
        let mut spans = vec![
            marker(field),
            Span::styled(format!("{label:<LABEL$}"), theme.dim()),
        ];
        spans.extend(field_spans(
            &text,
            editor.cursor(),
            form.focus == field,
            field_width,
            &theme,
        ));
        lines.push(Line::from(spans));
    };
    row(Field::Server, "Server", &form.server, false);
    row(Field::Handle, "Handle", &form.handle, false);
    if form.mode == Mode::SignUp {
        row(
            Field::DisplayName,
            "Display name",
            &form.display_name,
            false,
        );
    }
    row(Field::Password, "Password", &form.password, true);
    lines.push(Line::from(""));
    if form.busy {
        let doing = match form.mode {
            Mode::SignIn => "Signing in…",
            Mode::SignUp => "Signing up…",
        };
        lines.push(Line::from(Span::styled(format!("  {doing}"), theme.dim())));
    } else if let Some(error) = &form.error {
        lines.push(Line::from(Span::styled(
            format!("  {error}"),
            theme.error(),
        )));
    } else {
        lines.push(Line::from(""));
    }
    let submit = match form.mode {
        Mode::SignIn => "sign in",
        Mode::SignUp => "sign up",
    };
    lines.push(Line::from(Span::styled(
        format!("  Enter: {submit} · Tab: next field · Esc: skip"),
        theme.dim(),
    )));
    lines.push(switch_hint(form, &theme));
    let height = u16::try_from(lines.len() + 2).unwrap_or(u16::MAX);
    popup::centred(
        frame,
        area,
        (width, height),
        "Welcome to BookMyGig",
        lines,
        &theme,
    );
}

/// How to get to the other mode: offered outright after a refused sign-in (the server does
/// not say whether the handle exists, so a newcomer may be the one refused).
fn switch_hint(form: &SignInForm, theme: &Theme) -> Line<'static> {
    match form.mode {
        Mode::SignIn if form.offer_sign_up => Line::from(Span::styled(
            "  No account yet? Ctrl-n: sign up with this handle",
            theme.accent(),
        )),
        Mode::SignIn => Line::from(Span::styled("  New here? Ctrl-n: sign up", theme.dim())),
        Mode::SignUp => Line::from(Span::styled(
            "  Have an account? Ctrl-n: sign in",
            theme.dim(),
        )),
    }
}

/// A field's text, with the cursor shown when focused; the end is kept in view.
pub(super) fn field_spans(
    text: &str,
    cursor: usize,
    focused: bool,
    width: usize,
    theme: &Theme,
) -> Vec<Span<'static>> {
    let chars: Vec<char> = text.chars().collect();
    if !focused {
        let shown: String = chars
            .iter()
            .skip(chars.len().saturating_sub(width))
            .collect();
        return vec![Span::raw(shown)];
    }
    let cursor = cursor.min(chars.len());
    let start = (cursor + 1).saturating_sub(width);
    let before: String = chars[start..cursor].iter().collect();
    let under = chars.get(cursor).map_or(" ".to_owned(), char::to_string);
    let after: String = chars
        .iter()
        .skip(cursor + 1)
        .take(width.saturating_sub(cursor - start + 1))
        .collect();
    vec![
        Span::raw(before),
        Span::styled(under, theme.selected()),
        Span::raw(after),
    ]
}
