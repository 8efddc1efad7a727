//! The first-run form: sign in or sign up, on a server whose URL can be changed. Plain data;
//! [`update`](super::update()) edits it and turns a submission into a request.

use bookmygig_api::limits::{
    DISPLAY_NAME_MAX, HANDLE_MAX, HANDLE_MIN, PASSWORD_MAX, PASSWORD_MIN, is_valid_handle,
};

use super::line_editor::LineEditor;

/// Signing in to an account or creating one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// An existing account.
    SignIn,
    /// A new account.
    SignUp,
}

/// A row of the form.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Field {
    /// Sign in or sign up (toggled with Space or the arrows).
    Mode,
    /// The server's base URL.
    Server,
    /// The account's handle.
    Handle,
    /// The name others see (sign up only).
    DisplayName,
    /// The password (never shown).
    Password,
}

/// What the form asks the server for, checked locally first.
#[derive(Clone, PartialEq, Eq)]
pub struct Submission {
    /// Sign in or sign up.
    pub mode: Mode,
    /// The server's base URL, without a trailing `/`.
    pub server: String,
    /// The handle.
    pub handle: String,
    /// The display name (the handle when left empty).
    pub display_name: String,
    /// The password.
    pub password: String,
}

impl std::fmt::Debug for Submission {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The password is a secret: never let it reach a log.
        f.debug_struct("Submission")
            .field("mode", &self.mode)
            .field("server", &self.server)
            .field("handle", &self.handle)
            .field("display_name", &self.display_name)
            .field("password", &"<redacted>")
            .finish()
    }
}

/// The form's state.
#[derive(Clone, PartialEq, Eq)]
pub struct SignInForm {
    /// Sign in or sign up.
    pub mode: Mode,
    /// The row with the cursor.
    pub focus: Field,
    /// The server's base URL.
    pub server: LineEditor,
    /// The handle.
    pub handle: LineEditor,
    /// The display name.
    pub display_name: LineEditor,
    /// The password.
    pub password: LineEditor,
    /// A request is under way.
    pub busy: bool,
    /// Why the last submission failed (locally or at the server).
    pub error: Option<String>,
    /// The server refused a sign-in: the form offers Sign up, since the server answers alike
    /// for an unknown handle and a wrong password (it never says which handles exist).
    pub offer_sign_up: bool,
}

impl std::fmt::Debug for SignInForm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The password is a secret: never let it reach a log.
        f.debug_struct("SignInForm")
            .field("mode", &self.mode)
            .field("focus", &self.focus)
            .field("server", &self.server.text())
            .field("handle", &self.handle.text())
            .field("busy", &self.busy)
            .field("error", &self.error)
            .field("offer_sign_up", &self.offer_sign_up)
            .finish_non_exhaustive()
    }
}

impl SignInForm {
    /// An empty form for `server`, the handle focused.
    pub fn new(server: &str) -> Self {
        let mut url = LineEditor::default();
        for c in server.chars() {
            url.apply(super::line_editor::Edit::Insert(c));
        }
        Self {
            mode: Mode::SignIn,
            focus: Field::Handle,
            server: url,
            handle: LineEditor::default(),
            display_name: LineEditor::default(),
            password: LineEditor::default(),
            busy: false,
            error: None,
            offer_sign_up: false,
        }
    }

    /// The rows in order, for the current mode.
    pub fn fields(&self) -> Vec<Field> {
        let mut fields = vec![Field::Mode, Field::Server, Field::Handle];
        if self.mode == Mode::SignUp {
            fields.push(Field::DisplayName);
        }
        fields.push(Field::Password);
        fields
    }

    /// Moves the cursor `by` rows (wrapping).
    pub fn move_focus(&mut self, forward: bool) {
        let fields = self.fields();
        let at = fields.iter().position(|f| *f == self.focus).unwrap_or(0);
        let next = if forward {
            (at + 1) % fields.len()
        } else {
            (at + fields.len() - 1) % fields.len()
        };
        self.focus = fields[next];
    }

    /// Switches between signing in and signing up, keeping what was typed (the display name
    /// row, gone on signing in, hands its focus to the password).
    pub fn toggle_mode(&mut self) {
        self.mode = match self.mode {
            Mode::SignIn => Mode::SignUp,
            Mode::SignUp => Mode::SignIn,
        };
        if !self.fields().contains(&self.focus) {
            self.focus = Field::Password;
        }
        self.error = None;
        self.offer_sign_up = false;
    }

    /// The focused text field, if the focus is on one.
    pub fn focused_mut(&mut self) -> Option<&mut LineEditor> {
        match self.focus {
            Field::Mode => None,
            Field::Server => Some(&mut self.server),
            Field::Handle => Some(&mut self.handle),
            Field::DisplayName => Some(&mut self.display_name),
            Field::Password => Some(&mut self.password),
        }
    }

    /// The submission, or what is wrong with the form in words (checked with the server's
    /// rules, so nothing is sent for a bad form).
    ///
    /// # Errors
    /// The first problem found, naming the field.
    pub fn submission(&self) -> Result<Submission, String> {
        let server = self.server.text().trim().trim_end_matches('/').to_owned();
        if !(server.starts_with("http://") || server.starts_with("https://")) {
            return Err("server: an http:// or https:// URL".to_owned());
        }
        let handle = self.handle.text().trim().to_owned();
        if !is_valid_handle(&handle) {
            return Err(format!(
                "handle: {HANDLE_MIN}–{HANDLE_MAX} characters of a-z, 0-9 and _"
            ));
        }
        let password = self.password.text();
        let length = password.chars().count();
        if self.mode == Mode::SignUp && !(PASSWORD_MIN..=PASSWORD_MAX).contains(&length) {
            return Err(format!(
                "password: {PASSWORD_MIN}–{PASSWORD_MAX} characters (got {length})"
            ));
        }
        if password.is_empty() {
            return Err("password: empty".to_owned());
        }
        let mut display_name = self.display_name.text().trim().to_owned();
        if display_name.is_empty() {
            display_name.clone_from(&handle);
        }
        if display_name.chars().count() > DISPLAY_NAME_MAX {
            return Err(format!(
                "display name: at most {DISPLAY_NAME_MAX} characters"
            ));
        }
        Ok(Submission {
            mode: self.mode,
            server,
            handle,
            display_name,
            password,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tui::line_editor::Edit;

    fn type_into(editor: &mut LineEditor, text: &str) {
        for c in text.chars() {
            editor.apply(Edit::Insert(c));
        }
    }

    #[test]
    fn tab_walks_the_rows_of_the_mode_and_wraps() {
        let mut form = SignInForm::new("http://127.0.0.1:8080");
        form.move_focus(true);
        assert_eq!(form.focus, Field::Password);
        form.move_focus(true);
        assert_eq!(form.focus, Field::Mode);
        form.toggle_mode();
        form.move_focus(false);
        assert_eq!(form.focus, Field::Password);
        form.move_focus(false);
        assert_eq!(form.focus, Field::DisplayName);
    }

    #[test]
    fn a_bad_form_is_refused_locally_naming_the_field() {
        let mut form = SignInForm::new("127.0.0.1:8080");
        assert_eq!(
            form.submission().err().as_deref(),
            Some("server: an http:// or https:// URL")
        );
        form = SignInForm::new("http://h/");
        type_into(&mut form.handle, "No Spaces");
        assert!(form.submission().is_err_and(|e| e.starts_with("handle:")));
        form.handle = LineEditor::default();
        type_into(&mut form.handle, "ana");
        form.toggle_mode();
        type_into(&mut form.password, "short");
        assert_eq!(
            form.submission().err().as_deref(),
            Some("password: 8–128 characters (got 5)")
        );
        type_into(&mut form.password, "-enough");
        let submission = form.submission().unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(submission.server, "http://h");
        assert_eq!(submission.display_name, "ana", "defaults to the handle");
    }

    #[test]
    fn switching_modes_keeps_the_typing_and_a_focus_on_a_row_of_the_mode() {
        let mut form = SignInForm::new("http://h");
        type_into(&mut form.handle, "ana");
        form.toggle_mode();
        form.focus = Field::DisplayName;
        form.offer_sign_up = true;
        form.toggle_mode();
        assert_eq!(form.mode, Mode::SignIn);
        assert_eq!(form.focus, Field::Password);
        assert_eq!(form.handle.text(), "ana");
        assert!(!form.offer_sign_up);
    }
}
