//! A one-line text editor with a cursor and a history of what was sent, as shells have: the
//! chat's input line. Plain data, edited by [`Edit`]s.

/// How many sent lines are remembered for Up/Down.
const HISTORY: usize = 100;

/// One change to the line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Edit {
    /// Insert a character at the cursor.
    Insert(char),
    /// Delete the character before the cursor.
    Backspace,
    /// Delete the character under the cursor.
    Delete,
    /// Cursor one character left.
    Left,
    /// Cursor one character right.
    Right,
    /// Cursor to the start.
    Home,
    /// Cursor to the end.
    End,
    /// Delete from the start of the line to the cursor (Ctrl-u).
    KillToStart,
    /// Delete the word before the cursor (Ctrl-w).
    DeleteWord,
    /// The previous line of the history (Up).
    Older,
    /// The next line of the history, or back to what was being typed (Down).
    Newer,
}

/// The text, the cursor and the history.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LineEditor {
    /// The characters of the line.
    text: Vec<char>,
    /// Index into `text` of the character the cursor is on (`text.len()` at the end).
    cursor: usize,
    /// Lines sent, oldest first.
    history: Vec<String>,
    /// While browsing the history: the index shown, and the line being typed before.
    browsing: Option<(usize, Vec<char>)>,
}

impl LineEditor {
    /// The line's text.
    pub fn text(&self) -> String {
        self.text.iter().collect()
    }

    /// The cursor's position, in characters from the start.
    pub fn cursor(&self) -> usize {
        self.cursor
    }

    /// Whether the line is empty.
    pub fn is_empty(&self) -> bool {
        self.text.is_empty()
    }

    /// Applies one edit.
    pub fn apply(&mut self, edit: Edit) {
        match edit {
            Edit::Insert(c) => {
                self.text.insert(self.cursor, c);
                self.cursor += 1;
            }
            Edit::Backspace => {
                if self.cursor > 0 {
                    self.cursor -= 1;
                    self.text.remove(self.cursor);
                }
            }
            Edit::Delete => {
                if self.cursor < self.text.len() {
                    self.text.remove(self.cursor);
                }
            }
            Edit::Left => self.cursor = self.cursor.saturating_sub(1),
            Edit::Right => self.cursor = (self.cursor + 1).min(self.text.len()),
            Edit::Home => self.cursor = 0,
            Edit::End => self.cursor = self.text.len(),
            Edit::KillToStart => {
                self.text.drain(..self.cursor);
                self.cursor = 0;
            }
            Edit::DeleteWord => {
                let mut start = self.cursor;
                while start > 0 && self.text[start - 1].is_whitespace() {
                    start -= 1;
                }
                while start > 0 && !self.text[start - 1].is_whitespace() {
                    start -= 1;
                }
                self.text.drain(start..self.cursor);
                self.cursor = start;
            }
            Edit::Older => self.older(),
            Edit::Newer => self.newer(),
        }
    }

    /// Shows the previous history line, keeping what was typed to come back to.
    fn older(&mut self) {
        let index = match &self.browsing {
            Some((0, _)) => return,
            Some((index, _)) => index - 1,
            None if self.history.is_empty() => return,
            None => {
                self.browsing = Some((self.history.len(), std::mem::take(&mut self.text)));
                self.history.len() - 1
            }
        };
        if let Some((shown, _)) = &mut self.browsing {
            *shown = index;
        }
        self.show(self.history[index].chars().collect());
    }

    /// Shows the next history line, or what was typed before browsing.
    fn newer(&mut self) {
        let Some((index, draft)) = self.browsing.take() else {
            return;
        };
        if index + 1 < self.history.len() {
            self.browsing = Some((index + 1, draft));
            self.show(self.history[index + 1].chars().collect());
        } else {
            self.show(draft);
        }
    }

    /// Replaces the line, cursor at the end.
    fn show(&mut self, text: Vec<char>) {
        self.text = text;
        self.cursor = self.text.len();
    }

    /// Takes the line to send: returns it (trimmed; `None` when blank), empties the line and
    /// remembers it in the history.
    pub fn submit(&mut self) -> Option<String> {
        let line = self.text().trim().to_owned();
        self.browsing = None;
        self.show(Vec::new());
        if line.is_empty() {
            return None;
        }
        if self.history.last() != Some(&line) {
            self.history.push(line.clone());
            if self.history.len() > HISTORY {
                self.history.remove(0);
            }
        }
        Some(line)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn typed(text: &str) -> LineEditor {
        let mut line = LineEditor::default();
        for c in text.chars() {
            line.apply(Edit::Insert(c));
        }
        line
    }

    #[test]
    fn characters_go_in_at_the_cursor() {
        let mut line = typed("helo");
        line.apply(Edit::Left);
        line.apply(Edit::Insert('l'));
        assert_eq!(line.text(), "hello");
        assert_eq!(line.cursor(), 4);
        line.apply(Edit::Home);
        line.apply(Edit::Delete);
        line.apply(Edit::Insert('j'));
        line.apply(Edit::End);
        line.apply(Edit::Backspace);
        assert_eq!(line.text(), "jell");
    }

    #[test]
    fn ctrl_w_deletes_the_word_before_the_cursor_and_ctrl_u_the_start() {
        let mut line = typed("good evening  all");
        line.apply(Edit::DeleteWord);
        assert_eq!(line.text(), "good evening  ");
        line.apply(Edit::DeleteWord);
        assert_eq!(line.text(), "good ");
        line.apply(Edit::Insert('x'));
        line.apply(Edit::Left);
        line.apply(Edit::KillToStart);
        assert_eq!((line.text().as_str(), line.cursor()), ("x", 0));
    }

    #[test]
    fn up_and_down_walk_the_history_and_come_back_to_the_draft() {
        let mut line = typed("first");
        assert_eq!(line.submit().as_deref(), Some("first"));
        for c in "second".chars() {
            line.apply(Edit::Insert(c));
        }
        line.submit();
        for c in "dra".chars() {
            line.apply(Edit::Insert(c));
        }
        line.apply(Edit::Older);
        assert_eq!(line.text(), "second");
        line.apply(Edit::Older);
        line.apply(Edit::Older);
        assert_eq!(line.text(), "first");
        line.apply(Edit::Newer);
        assert_eq!(line.text(), "second");
        line.apply(Edit::Newer);
        assert_eq!(line.text(), "dra");
        assert_eq!(line.cursor(), 3);
    }

    #[test]
    fn blank_lines_are_not_sent_nor_remembered() {
        let mut line = typed("   ");
        assert_eq!(line.submit(), None);
        line.apply(Edit::Older);
        assert!(line.is_empty());
    }
}
