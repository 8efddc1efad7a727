//! The render thread of a player drawing into memory: mpv's software renderer
//! ([`RenderContext`]) turns each new frame into pixels of the size the [`VideoSink`]'s reader
//! wants, and the sink hands the newest to it.
//!
//! mpv's `vo=libmpv` waits (up to a timeout) for each frame it presents to be rendered, so every
//! frame is rendered here, at once, whatever the reader does; only the reader skips frames.
//! Rendering at the terminal's size (a few thousand pixels for half-blocks) keeps that cheap.
//!
//! Render API rule: this thread calls no libmpv function but the `mpv_render_*` ones (through
//! [`RenderContext`]), and the engine joins it before destroying the core.

use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::thread::{self, JoinHandle};
use std::time::Duration;

use super::libmpv::{Error, Handle, RenderContext, Surface};
use super::video::{Frame, VideoSink};

/// How long the thread sleeps without a wake-up before it looks at the wanted size again: how
/// soon a resize shows while the picture stands still.
const RESIZE_POLL: Duration = Duration::from_millis(100);

/// The size rendered while the reader wants none: mpv still needs its frames rendered.
const IDLE_SIZE: (usize, usize) = (2, 2);

/// The running render thread; dropping it ends the thread (and frees the renderer).
#[derive(Debug)]
pub(crate) struct Renderer {
    /// Shared with the thread and the update callback.
    wakeup: Arc<Wakeup>,
    /// The thread, joined on stop.
    thread: Option<JoinHandle<()>>,
}

/// What woke the render thread.
#[derive(Debug, Default)]
struct Wakeup {
    /// (new frame or redraw signalled, stop asked).
    flags: Mutex<(bool, bool)>,
    /// Signalled on every change of `flags`.
    changed: Condvar,
}

impl Wakeup {
    fn raise(&self, frame: bool, stop: bool) {
        let mut flags = self.flags.lock().unwrap_or_else(PoisonError::into_inner);
        flags.0 |= frame;
        flags.1 |= stop;
        self.changed.notify_one();
    }

    /// Waits up to `timeout` for a raise; returns (frame, stop) and clears the frame flag.
    fn wait(&self, timeout: Duration) -> (bool, bool) {
        let flags = self.flags.lock().unwrap_or_else(PoisonError::into_inner);
        let (mut flags, _) = self
            .changed
            .wait_timeout_while(flags, timeout, |(frame, stop)| !*frame && !*stop)
            .unwrap_or_else(PoisonError::into_inner);
        let woke = *flags;
        flags.0 = false;
        woke
    }
}

impl Renderer {
    /// Creates the software renderer of `mpv`'s core (which must have `vo=libmpv`; before a
    /// file is loaded) and starts the thread that feeds `sink`.
    ///
    /// # Errors
    /// When libmpv cannot create the renderer, or the thread cannot start.
    pub(crate) fn start(mpv: &Handle, sink: VideoSink) -> Result<Renderer, StartError> {
        let mut context = RenderContext::create_sw(mpv).map_err(StartError::Mpv)?;
        let wakeup = Arc::new(Wakeup::default());
        let on_update = Arc::clone(&wakeup);
        context.set_update_callback(move || on_update.raise(true, false));
        let shared = Arc::clone(&wakeup);
        let thread = thread::Builder::new()
            .name("bookmygig-mpv-render".to_owned())
            .spawn(move || render_loop(context, &shared, &sink))
            .map_err(StartError::Thread)?;
        Ok(Renderer {
            wakeup,
            thread: Some(thread),
        })
    }
}

/// Ends the thread and waits for it, which frees the renderer: drop it before the core.
impl Drop for Renderer {
    fn drop(&mut self) {
        self.wakeup.raise(false, true);
        if let Some(thread) = self.thread.take() {
            // A panic of the thread ended only the picture; nothing more to do about it.
            let _ = thread.join();
        }
    }
}

/// Why the render thread could not start.
#[derive(Debug)]
pub(crate) enum StartError {
    /// libmpv refused the software renderer.
    Mpv(Error),
    /// The thread could not be spawned.
    Thread(std::io::Error),
}

/// Renders every new frame (and the current one again after a resize) at the size the sink's
/// reader wants, until asked to stop; the context is freed on return.
fn render_loop(mut context: RenderContext, wakeup: &Wakeup, sink: &VideoSink) {
    let mut surface = Surface::default();
    // Whether a frame has been rendered at all: a resize before the first frame has nothing
    // to show.
    let mut shown = false;
    loop {
        let (frame, stop) = wakeup.wait(RESIZE_POLL);
        if stop {
            return;
        }
        let pending = frame && context.frame_pending();
        let asked = sink.size();
        let wanted = match asked {
            (0, _) | (_, 0) => IDLE_SIZE,
            size => size,
        };
        let resized = wanted != surface.size();
        if !(pending || resized && shown) {
            continue;
        }
        if resized {
            surface.resize(wanted.0, wanted.1);
        }
        if context.render(&mut surface).is_err() {
            // A frame that cannot be drawn is skipped; the next may be.
            continue;
        }
        shown = true;
        if wanted == asked {
            let mut pixels = Vec::with_capacity(wanted.0 * wanted.1 * 4);
            surface.copy_packed(&mut pixels);
            sink.put(Frame {
                width: wanted.0,
                height: wanted.1,
                pixels,
            });
        }
    }
}
