//! The video in the terminal, drawn with Unicode half-blocks in true colour: each cell is `▀`
//! with the upper pixel as its foreground and the lower one as its background, so a cell holds
//! two (roughly square) pixels. Works in any terminal with 24-bit colour.
//!
//! The player renders frames at [`pixel_size`] of the area they are drawn in, so normally each
//! pixel maps to one half-cell; a frame of another size (just after a resize) is scaled with the
//! nearest pixel. Pure: [`half_blocks`] is the conversion, [`HalfBlocks`] the widget on it.

use bookmygig_cli::player::Frame;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Color;
use ratatui::widgets::Widget;

/// The upper half block: its foreground is the cell's upper pixel, its background the lower.
pub const UPPER_HALF: &str = "▀";

/// The pixels a frame should have to fill `area` with half-blocks: one per column, two per row.
pub fn pixel_size(area: Rect) -> (usize, usize) {
    (usize::from(area.width), usize::from(area.height) * 2)
}

/// The (upper, lower) colours of each cell of a `columns`×`rows` grid showing `frame`, row
/// after row. Pixels are picked nearest-neighbour when the frame is not `columns`×`2·rows`.
pub fn half_blocks(frame: &Frame, columns: u16, rows: u16) -> Vec<([u8; 3], [u8; 3])> {
    let (columns, rows) = (usize::from(columns), usize::from(rows));
    let pixel_rows = rows * 2;
    if columns == 0 || rows == 0 {
        return Vec::new();
    }
    let source_x: Vec<usize> = (0..columns).map(|x| x * frame.width / columns).collect();
    let source_y = |y: usize| y * frame.height / pixel_rows;
    let mut cells = Vec::with_capacity(columns * rows);
    for row in 0..rows {
        let (upper, lower) = (source_y(row * 2), source_y(row * 2 + 1));
        for &x in &source_x {
            cells.push((frame.rgb(x, upper), frame.rgb(x, lower)));
        }
    }
    cells
}

/// `frame` drawn over the whole area with half-blocks.
#[derive(Debug)]
pub struct HalfBlocks<'a> {
    /// The picture.
    pub frame: &'a Frame,
}

impl Widget for HalfBlocks<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let area = area.intersection(buf.area);
        let cells = half_blocks(self.frame, area.width, area.height);
        let mut colours = cells.into_iter();
        for y in area.top()..area.bottom() {
            for x in area.left()..area.right() {
                let Some(([r, g, b], [r2, g2, b2])) = colours.next() else {
                    return;
                };
                if let Some(cell) = buf.cell_mut((x, y)) {
                    cell.set_symbol(UPPER_HALF)
                        .set_fg(Color::Rgb(r, g, b))
                        .set_bg(Color::Rgb(r2, g2, b2));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A frame whose pixel (x, y) is (x, y, 7).
    fn gradient(width: usize, height: usize) -> Frame {
        let mut pixels = Vec::new();
        for y in 0..height {
            for x in 0..width {
                pixels.extend([x as u8, y as u8, 7, 0]);
            }
        }
        Frame {
            width,
            height,
            pixels,
        }
    }

    #[test]
    fn each_cell_holds_two_pixels_one_above_the_other() {
        let cells = half_blocks(&gradient(3, 4), 3, 2);
        assert_eq!(cells.len(), 6);
        assert_eq!(cells[0], ([0, 0, 7], [0, 1, 7]));
        assert_eq!(cells[2], ([2, 0, 7], [2, 1, 7]));
        assert_eq!(cells[4], ([1, 2, 7], [1, 3, 7]), "second row, middle");
    }

    #[test]
    fn a_frame_of_another_size_is_scaled_to_the_nearest_pixel() {
        let cells = half_blocks(&gradient(6, 8), 3, 2);
        assert_eq!(cells[0], ([0, 0, 7], [0, 2, 7]));
        assert_eq!(cells[5], ([4, 4, 7], [4, 6, 7]));
        let small = half_blocks(&gradient(1, 1), 2, 1);
        assert_eq!(small, vec![([0, 0, 7], [0, 0, 7]); 2], "stretched");
        assert!(half_blocks(&gradient(2, 2), 0, 5).is_empty());
    }

    #[test]
    fn pixel_size_is_one_column_and_two_rows_per_cell() {
        assert_eq!(pixel_size(Rect::new(3, 4, 40, 12)), (40, 24));
    }

    /// In the first gig's room, its stream live, the player drawing `frame` in the terminal.
    fn room_with_video(frame: Frame) -> crate::tui::app::State {
        use crate::tui::action::{Action, PlayerUpdate};
        use crate::tui::app::{Screen, State, Zone};
        use crate::tui::sample;
        use crate::tui::update::update;
        let mut state = State::for_tests(Zone::Local);
        state.display = false;
        state.screen = Screen::Catalogue;
        update(&mut state, Action::Refresh);
        sample::answer_catalogue(&mut state, sample::gigs(), None);
        update(&mut state, Action::TicketsLoaded(Ok(sample::my_tickets())));
        update(&mut state, Action::Open);
        let room = state.room.as_ref().map_or(0, |room| room.id);
        update(
            &mut state,
            Action::StreamLoaded {
                room,
                result: Ok(sample::stream(true)),
            },
        );
        update(&mut state, Action::Play);
        let run = state.room.as_ref().map_or(0, |room| room.player_run);
        let playing =
            PlayerUpdate::Event(bookmygig_cli::player::PlayerEvent::Playing { position_s: 3.0 });
        update(
            &mut state,
            Action::Player {
                room,
                run,
                update: playing,
            },
        );
        let picture = crate::tui::graphics::Picture::Cells(std::sync::Arc::new(frame));
        update(&mut state, Action::VideoFrame(picture));
        state
    }

    fn draw(state: &crate::tui::app::State, (width, height): (u16, u16)) -> Buffer {
        let mut terminal =
            ratatui::Terminal::new(ratatui::backend::TestBackend::new(width, height))
                .unwrap_or_else(|err| panic!("test terminal: {err}"));
        terminal
            .draw(|frame| super::super::draw(frame, state))
            .unwrap_or_else(|err| panic!("draw: {err}"));
        terminal.backend().buffer().clone()
    }

    fn text(buf: &Buffer) -> String {
        let width = usize::from(buf.area.width);
        buf.content
            .chunks(width)
            .map(|row| row.iter().map(|cell| cell.symbol()).collect::<String>() + "\n")
            .collect()
    }

    #[test]
    fn the_room_draws_the_video_in_its_panel_beside_the_chat() {
        let state = room_with_video(Frame::filled(8, 8, [200, 10, 20]));
        let area = Rect::new(0, 0, 120, 40);
        let video =
            super::super::video_area(area, &state).unwrap_or_else(|| panic!("no video area"));
        // The wider panel (three fifths), inside its border, 16:9 until the stream says.
        assert_eq!((video.x, video.y, video.width), (1, 2, 70));
        assert_eq!(video.height, 20, "70 columns of 16:9 in two-pixel rows");
        let buf = draw(&state, (120, 40));
        let cell = &buf[(video.x + 3, video.y + 3)];
        assert_eq!(cell.symbol(), UPPER_HALF);
        assert_eq!(cell.bg, Color::Rgb(200, 10, 20));
        let screen = text(&buf);
        assert!(screen.contains("Chat"), "{screen}");
        assert!(
            screen.contains("▶ playing 0:03 · i: window · f: full screen"),
            "{screen}"
        );
        assert!(
            screen.contains("Viewers"),
            "the facts under the picture: {screen}"
        );
        // At 80×24 it still fits.
        let small = draw(&state, (80, 24));
        assert!(text(&small).contains(UPPER_HALF));
    }

    #[test]
    fn full_screen_gives_the_video_the_terminal_and_the_chat_one_line() {
        let mut state = room_with_video(Frame::filled(8, 8, [0, 90, 200]));
        crate::tui::update::update(&mut state, crate::tui::action::Action::ToggleFullScreen);
        let area = Rect::new(0, 0, 100, 30);
        assert_eq!(super::super::video_area(area, &state), Some(area));
        let buf = draw(&state, (100, 30));
        assert_eq!(buf[(0, 0)].symbol(), UPPER_HALF);
        assert_eq!(buf[(99, 28)].bg, Color::Rgb(0, 90, 200));
        let screen = text(&buf);
        assert!(!screen.contains("Chat"), "{screen}");
        let last = screen.lines().last().unwrap_or_default();
        assert!(last.contains("f/Esc: back"), "{last}");
    }

    #[test]
    fn the_widget_paints_true_colour_upper_half_blocks() {
        let frame = Frame::filled(4, 2, [200, 10, 20]);
        let area = Rect::new(0, 0, 4, 1);
        let mut buf = Buffer::empty(Rect::new(0, 0, 6, 2));
        HalfBlocks { frame: &frame }.render(area, &mut buf);
        let cell = &buf[(3, 0)];
        assert_eq!(cell.symbol(), UPPER_HALF);
        assert_eq!(cell.fg, Color::Rgb(200, 10, 20));
        assert_eq!(cell.bg, Color::Rgb(200, 10, 20));
        assert_eq!(buf[(4, 0)].symbol(), " ", "outside the area");
    }
}
