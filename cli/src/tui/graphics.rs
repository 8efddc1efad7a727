//! How the video is drawn in this terminal: with its graphics protocol (kitty graphics or
//! sixel) when it says it has one, else with true-colour half-blocks, which every terminal with
//! 24-bit colour shows.
//!
//! The terminal is asked once, at start-up, before the event loop reads the keyboard (the
//! answers arrive on stdin): [`Graphics::query`], through ratatui-image. Only what the terminal
//! answers counts, never an environment variable alone. [`Graphics::picture`] turns a frame into
//! what the room draws ([`Picture`]): the frame itself for half-blocks, or the frame encoded for
//! the protocol (the encoding is the expensive part, so it happens once per frame, not per draw).

use std::sync::Arc;

use bookmygig_cli::player::Frame;
use ratatui::layout::Rect;
use ratatui_image::picker::{Capability, Picker};
use ratatui_image::protocol::Protocol;
use ratatui_image::protocol::kitty::Kitty;
use ratatui_image::protocol::sixel::Sixel;

use super::governor::HALF_BLOCK_FPS;

/// The kitty image id of the video: every frame replaces the image of this id, so the terminal
/// keeps one image, not one per frame.
const KITTY_IMAGE_ID: u32 = 0x00b0_6716;

/// The most frames a second sent as kitty or sixel images.
pub const IMAGE_FPS: u32 = 24;

/// How this terminal shows pictures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Graphics {
    /// `▀` cells with true-colour foreground and background: two pixels per cell.
    HalfBlocks,
    /// Images in a graphics protocol, at the terminal's own pixel size.
    Image {
        /// Which protocol.
        protocol: ImageProtocol,
        /// Pixels per cell, (width, height).
        cell: (u16, u16),
    },
}

/// A graphics protocol the terminal said it speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImageProtocol {
    /// The kitty graphics protocol (kitty, WezTerm, Ghostty, Konsole…).
    Kitty,
    /// Sixel (xterm -ti vt340, foot, mlterm, Windows Terminal…).
    Sixel,
}

/// What the room draws for one frame.
#[derive(Clone)]
pub enum Picture {
    /// The frame, drawn with half-blocks.
    Cells(Arc<Frame>),
    /// The frame encoded for the terminal's graphics protocol, for this many cells.
    Image(Arc<Protocol>),
}

impl std::fmt::Debug for Picture {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Picture::Cells(frame) => write!(f, "Cells({frame:?})"),
            Picture::Image(_) => f.write_str("Image"),
        }
    }
}

impl PartialEq for Picture {
    /// The same frame (an encoded image is only ever equal to itself).
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (Picture::Cells(a), Picture::Cells(b)) => a == b,
            (Picture::Image(a), Picture::Image(b)) => Arc::ptr_eq(a, b),
            _ => false,
        }
    }
}

impl Graphics {
    /// Asks the terminal on stdin/stdout which graphics protocol it speaks and how big its
    /// cells are (up to a second when it does not answer). Call it in raw mode, before anything
    /// reads terminal events. Half-blocks unless it answers with kitty or sixel and a cell size.
    ///
    /// Inside tmux or GNU screen nothing is asked: ratatui-image would pass the questions
    /// through to the outer terminal, which may not be there (a detached session) to answer;
    /// its reader would then wait on stdin for good and take keys from the TUI.
    pub fn query() -> Graphics {
        if in_tmux() || std::env::var("TERM").is_ok_and(|term| term.starts_with("screen")) {
            return Graphics::HalfBlocks;
        }
        match Picker::from_query_stdio() {
            Ok(picker) => Self::from_answers(picker.capabilities(), picker.font_size()),
            Err(_) => Graphics::HalfBlocks,
        }
    }

    /// What the terminal's answers allow: kitty over sixel, and only with a known cell size.
    fn from_answers(capabilities: &[Capability], cell: (u16, u16)) -> Graphics {
        let protocol = if capabilities.contains(&Capability::Kitty) {
            ImageProtocol::Kitty
        } else if capabilities.contains(&Capability::Sixel) {
            ImageProtocol::Sixel
        } else {
            return Graphics::HalfBlocks;
        };
        if cell.0 == 0 || cell.1 == 0 {
            return Graphics::HalfBlocks;
        }
        Graphics::Image { protocol, cell }
    }

    /// The pixels a frame should have to fill `area`.
    pub fn pixel_size(self, area: Rect) -> (usize, usize) {
        match self {
            Graphics::HalfBlocks => super::ui::video::pixel_size(area),
            Graphics::Image { cell, .. } => (
                usize::from(area.width) * usize::from(cell.0),
                usize::from(area.height) * usize::from(cell.1),
            ),
        }
    }

    /// The most frames a second worth drawing this way.
    pub fn max_fps(self) -> u32 {
        match self {
            Graphics::HalfBlocks => HALF_BLOCK_FPS,
            Graphics::Image { .. } => IMAGE_FPS,
        }
    }

    /// `frame` as drawn in `area`; `None` when it cannot be encoded (the previous picture stays).
    pub fn picture(self, frame: Arc<Frame>, area: Rect) -> Option<Picture> {
        let protocol = match self {
            Graphics::HalfBlocks => return Some(Picture::Cells(frame)),
            Graphics::Image { protocol, .. } => protocol,
        };
        // Never inside tmux (see `query`): no passthrough wrapping.
        let tmux = false;
        let image = image_of(&frame)?;
        let encoded = match protocol {
            ImageProtocol::Kitty => {
                Protocol::Kitty(Kitty::new(image, area, KITTY_IMAGE_ID, tmux).ok()?)
            }
            ImageProtocol::Sixel => Protocol::Sixel(Sixel::new(image, area, tmux).ok()?),
        };
        Some(Picture::Image(Arc::new(encoded)))
    }
}

/// Whether we run inside tmux (as ratatui-image tells).
fn in_tmux() -> bool {
    std::env::var("TERM").is_ok_and(|term| term.starts_with("tmux"))
        || std::env::var("TERM_PROGRAM").is_ok_and(|program| program == "tmux")
}

/// The frame as an opaque RGBA image (its fourth bytes are garbage, so they become 255).
fn image_of(frame: &Frame) -> Option<image::DynamicImage> {
    let mut pixels = frame.pixels.clone();
    for alpha in pixels.iter_mut().skip(3).step_by(4) {
        *alpha = u8::MAX;
    }
    let (width, height) = (
        u32::try_from(frame.width).ok()?,
        u32::try_from(frame.height).ok()?,
    );
    image::RgbaImage::from_raw(width, height, pixels).map(image::DynamicImage::ImageRgba8)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_an_answered_protocol_with_a_cell_size_draws_images() {
        assert_eq!(Graphics::from_answers(&[], (10, 20)), Graphics::HalfBlocks);
        assert_eq!(
            Graphics::from_answers(&[Capability::Sixel, Capability::Kitty], (10, 20)),
            Graphics::Image {
                protocol: ImageProtocol::Kitty,
                cell: (10, 20),
            }
        );
        assert!(matches!(
            Graphics::from_answers(&[Capability::Sixel], (9, 18)),
            Graphics::Image {
                protocol: ImageProtocol::Sixel,
                ..
            }
        ));
        assert_eq!(
            Graphics::from_answers(&[Capability::Kitty], (0, 0)),
            Graphics::HalfBlocks
        );
    }

    #[test]
    fn frames_are_sized_for_the_way_they_are_drawn() {
        let area = Rect::new(0, 0, 40, 10);
        assert_eq!(Graphics::HalfBlocks.pixel_size(area), (40, 20));
        let kitty = Graphics::from_answers(&[Capability::Kitty], (10, 20));
        assert_eq!(kitty.pixel_size(area), (400, 200));
        assert_eq!(kitty.max_fps(), IMAGE_FPS);
        assert_eq!(Graphics::HalfBlocks.max_fps(), HALF_BLOCK_FPS);
    }

    #[test]
    fn a_frame_becomes_the_protocol_it_is_drawn_with() {
        let frame = Arc::new(Frame::filled(20, 40, [10, 200, 30]));
        let area = Rect::new(0, 0, 2, 2);
        assert!(matches!(
            Graphics::HalfBlocks.picture(Arc::clone(&frame), area),
            Some(Picture::Cells(_))
        ));
        for protocol in [ImageProtocol::Kitty, ImageProtocol::Sixel] {
            let graphics = Graphics::Image {
                protocol,
                cell: (10, 20),
            };
            let picture = graphics.picture(Arc::clone(&frame), area);
            let Some(Picture::Image(encoded)) = picture else {
                panic!("not encoded: {picture:?}");
            };
            match (protocol, &*encoded) {
                (ImageProtocol::Kitty, Protocol::Kitty(_))
                | (ImageProtocol::Sixel, Protocol::Sixel(_)) => {}
                _ => panic!("encoded with another protocol"),
            }
        }
    }

    #[test]
    fn an_encoded_picture_is_drawn_as_its_escape_sequence() {
        use ratatui::buffer::Buffer;
        use ratatui::widgets::Widget as _;
        let frame = Arc::new(Frame::filled(20, 40, [10, 200, 30]));
        let area = Rect::new(0, 0, 2, 2);
        let kitty = Graphics::Image {
            protocol: ImageProtocol::Kitty,
            cell: (10, 20),
        };
        let Some(Picture::Image(encoded)) = kitty.picture(frame, area) else {
            panic!("not encoded");
        };
        let mut buf = Buffer::empty(Rect::new(0, 0, 4, 4));
        ratatui_image::Image::new(&encoded).render(area, &mut buf);
        // The first cell carries the image's transmission (APC `_G…`), once.
        assert!(buf[(0, 0)].symbol().contains("\x1b_G"), "{:?}", buf[(0, 0)]);
        let mut again = Buffer::empty(Rect::new(0, 0, 4, 4));
        ratatui_image::Image::new(&encoded).render(area, &mut again);
        assert!(
            !again[(0, 0)].symbol().contains("\x1b_Gq=2,i="),
            "sent once"
        );
    }

    #[test]
    fn images_are_opaque() {
        let frame = Frame {
            width: 1,
            height: 1,
            pixels: vec![1, 2, 3, 0],
        };
        let image = image_of(&frame).unwrap_or_else(|| panic!("an image"));
        assert_eq!(image.to_rgba8().into_raw(), vec![1, 2, 3, 255]);
    }
}
