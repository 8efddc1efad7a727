//! A small binding to libmpv's client API (`mpv/client.h`, client API 2.0), opened with `dlopen`
//! the first time a player is opened.
//!
//! Linking libmpv would map it and the ~230 shared libraries it needs (about 37 MiB of a TUI's
//! resident memory) into every `bookmygig` process, also the many that never play, and would stop
//! the binary from starting at all where libmpv is not installed. So [`load`] opens it on demand,
//! checks its client API version and keeps it for the rest of the process: it is never closed,
//! because mpv's threads run its code.
//!
//! This module owns the FFI and why it is sound; it binds only what the engine uses, and hands out
//! owned values only (an event is copied out of libmpv's memory before [`Handle::wait_event`]
//! returns). What to do with mpv is the engine's business.
//!
//! Besides the client API it binds the software render API of `mpv/render.h`
//! ([`RenderContext`]): with `vo=libmpv`, mpv draws each video frame into memory we own, so the
//! TUI can show it in the terminal.

// The one place in the crate that may use `unsafe`: calls into the loaded library, each with the
// reason it is sound.
#![allow(unsafe_code)]

use std::ffi::{CStr, CString, c_char, c_double, c_int, c_ulong, c_void};
use std::ptr::NonNull;
use std::sync::OnceLock;

use libloading::Library;

/// The client API major version this binding follows (`MPV_CLIENT_API_VERSION` is 2.0). Minor
/// versions only add to the API, so any 2.x will do, as libmpv2 checks too.
const API_MAJOR: u64 = 2;

/// The file names tried, in order: the client API 2 soname first. A client API 1 library
/// (Ubuntu 22.04's libmpv1) is found too, so that the error names the version problem rather
/// than claiming libmpv is missing.
#[cfg(all(unix, not(target_os = "macos")))]
const LIBRARY_NAMES: &[&str] = &["libmpv.so.2", "libmpv.so.1", "libmpv.so"];
#[cfg(target_os = "macos")]
const LIBRARY_NAMES: &[&str] = &["libmpv.2.dylib", "libmpv.dylib"];
#[cfg(windows)]
const LIBRARY_NAMES: &[&str] = &["libmpv-2.dll", "mpv-2.dll", "mpv-1.dll"];

/// `mpv_error` codes the engine tells apart (client.h; other codes are described by libmpv).
pub(crate) mod error_code {
    use std::ffi::c_int;

    /// `MPV_ERROR_OPTION_NOT_FOUND`.
    pub(crate) const OPTION_NOT_FOUND: c_int = -5;
    /// `MPV_ERROR_OPTION_FORMAT`.
    pub(crate) const OPTION_FORMAT: c_int = -6;
    /// `MPV_ERROR_OPTION_ERROR`.
    pub(crate) const OPTION_ERROR: c_int = -7;
    /// `MPV_ERROR_LOADING_FAILED`.
    pub(crate) const LOADING_FAILED: c_int = -13;
    /// `MPV_ERROR_AO_INIT_FAILED`.
    pub(crate) const AO_INIT_FAILED: c_int = -14;
    /// `MPV_ERROR_VO_INIT_FAILED`.
    pub(crate) const VO_INIT_FAILED: c_int = -15;
    /// `MPV_ERROR_NOTHING_TO_PLAY`.
    pub(crate) const NOTHING_TO_PLAY: c_int = -16;
    /// `MPV_ERROR_UNKNOWN_FORMAT`.
    pub(crate) const UNKNOWN_FORMAT: c_int = -17;
    /// `MPV_ERROR_UNSUPPORTED`.
    pub(crate) const UNSUPPORTED: c_int = -18;
}

// `mpv_format` values (client.h).
const FORMAT_NONE: c_int = 0;
const FORMAT_FLAG: c_int = 3;
const FORMAT_DOUBLE: c_int = 5;

// `mpv_event_id` values (client.h).
const EVENT_NONE: c_int = 0;
const EVENT_SHUTDOWN: c_int = 1;
const EVENT_LOG_MESSAGE: c_int = 2;
const EVENT_START_FILE: c_int = 6;
const EVENT_END_FILE: c_int = 7;
const EVENT_IDLE: c_int = 11;
const EVENT_TICK: c_int = 14;
const EVENT_PLAYBACK_RESTART: c_int = 21;
const EVENT_PROPERTY_CHANGE: c_int = 22;

// `mpv_end_file_reason` values (client.h; 1 is unused).
const END_FILE_REASON_EOF: c_int = 0;
const END_FILE_REASON_STOP: c_int = 2;
const END_FILE_REASON_QUIT: c_int = 3;
const END_FILE_REASON_ERROR: c_int = 4;
const END_FILE_REASON_REDIRECT: c_int = 5;

/// client.h's `mpv_handle`: opaque, only ever behind a pointer.
#[repr(C)]
struct RawHandle {
    _opaque: [u8; 0],
}

/// client.h's `mpv_event`. C enums are `int`s here: a value this binding does not know must not
/// become an invalid Rust enum.
#[repr(C)]
#[derive(Clone, Copy)]
struct RawEvent {
    /// `mpv_event_id`.
    event_id: c_int,
    /// An `mpv_error` code, negative on failure.
    error: c_int,
    /// The id given to `mpv_observe_property`, for property changes.
    reply_userdata: u64,
    /// `mpv_event_property*` for property changes, `mpv_event_end_file*` for end-file.
    data: *mut c_void,
}

/// client.h's `mpv_event_property`.
#[repr(C)]
#[derive(Clone, Copy)]
struct RawEventProperty {
    /// The property's name.
    _name: *const c_char,
    /// `mpv_format` of `data`: the requested one, or `MPV_FORMAT_NONE` if unavailable.
    format: c_int,
    /// Points at the value (`int` for a flag, `double` for a double); invalid for `NONE`.
    data: *mut c_void,
}

/// client.h's `mpv_event_log_message`.
#[repr(C)]
#[derive(Clone, Copy)]
struct RawEventLogMessage {
    /// The module that logged (`ao/alsa`, `ffmpeg`, `cplayer`…).
    prefix: *const c_char,
    /// The level's name (`error`, `warn`, `info`…).
    level: *const c_char,
    /// The message, usually ending with a newline.
    text: *const c_char,
    /// `mpv_log_level`.
    _log_level: c_int,
}

/// render.h's `mpv_render_context`: opaque, only ever behind a pointer.
#[repr(C)]
struct RawRenderContext {
    _opaque: [u8; 0],
}

/// render.h's `mpv_render_param`: a type and a pointer whose target depends on it.
#[repr(C)]
struct RawRenderParam {
    /// `mpv_render_param_type`.
    kind: c_int,
    /// Points at the value (see each `RENDER_PARAM_*`).
    data: *mut c_void,
}

// `mpv_render_param_type` values (render.h).
/// Ends a parameter list.
const RENDER_PARAM_INVALID: c_int = 0;
/// `char*`: the render API, `"sw"` here.
const RENDER_PARAM_API_TYPE: c_int = 1;
/// `int[2]`: the surface's width and height in pixels.
const RENDER_PARAM_SW_SIZE: c_int = 17;
/// `char*`: the surface's pixel format, `"rgb0"` here.
const RENDER_PARAM_SW_FORMAT: c_int = 18;
/// `size_t*`: bytes from one row of the surface to the next.
const RENDER_PARAM_SW_STRIDE: c_int = 19;
/// `void*`: the surface's first pixel.
const RENDER_PARAM_SW_POINTER: c_int = 20;
/// `MPV_RENDER_UPDATE_FRAME`: a new frame must be rendered.
const RENDER_UPDATE_FRAME: u64 = 1;

/// render.h's `mpv_render_update_fn`.
type RenderUpdateFn = unsafe extern "C" fn(*mut c_void);

/// client.h's `mpv_event_end_file` (its layout since client API 1.108, so in every 2.x).
#[repr(C)]
#[derive(Clone, Copy)]
struct RawEventEndFile {
    /// `mpv_end_file_reason`.
    reason: c_int,
    /// An `mpv_error` code when `reason` is `MPV_END_FILE_REASON_ERROR`, else 0.
    error: c_int,
    _playlist_entry_id: i64,
    _playlist_insert_id: i64,
    _playlist_insert_num_entries: c_int,
}

/// The loaded library and the functions resolved from it. Only ever used as `&'static`, from
/// [`load`]'s cache, so the functions never outlive the library.
pub(crate) struct Api {
    create: unsafe extern "C" fn() -> *mut RawHandle,
    initialize: unsafe extern "C" fn(*mut RawHandle) -> c_int,
    terminate_destroy: unsafe extern "C" fn(*mut RawHandle),
    set_option_string: unsafe extern "C" fn(*mut RawHandle, *const c_char, *const c_char) -> c_int,
    command: unsafe extern "C" fn(*mut RawHandle, *mut *const c_char) -> c_int,
    set_property: unsafe extern "C" fn(*mut RawHandle, *const c_char, c_int, *mut c_void) -> c_int,
    observe_property: unsafe extern "C" fn(*mut RawHandle, u64, *const c_char, c_int) -> c_int,
    request_event: unsafe extern "C" fn(*mut RawHandle, c_int, c_int) -> c_int,
    wait_event: unsafe extern "C" fn(*mut RawHandle, c_double) -> *mut RawEvent,
    error_string: unsafe extern "C" fn(c_int) -> *const c_char,
    request_log_messages: unsafe extern "C" fn(*mut RawHandle, *const c_char) -> c_int,
    render_context_create: unsafe extern "C" fn(
        *mut *mut RawRenderContext,
        *mut RawHandle,
        *mut RawRenderParam,
    ) -> c_int,
    render_context_set_update_callback:
        unsafe extern "C" fn(*mut RawRenderContext, Option<RenderUpdateFn>, *mut c_void),
    render_context_update: unsafe extern "C" fn(*mut RawRenderContext) -> u64,
    render_context_render:
        unsafe extern "C" fn(*mut RawRenderContext, *mut RawRenderParam) -> c_int,
    render_context_free: unsafe extern "C" fn(*mut RawRenderContext),
    /// Keeps the functions above valid; last, so it is dropped after them.
    _library: Library,
}

impl std::fmt::Debug for Api {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Api(libmpv)")
    }
}

/// Why libmpv could not be loaded.
#[derive(Debug, thiserror::Error)]
pub(crate) enum LoadError {
    /// No file of [`LIBRARY_NAMES`] could be opened; the dynamic loader's reason for the first
    /// (it names the file, or the library it needs that is missing).
    #[error("{0}")]
    NotFound(String),
    /// The library lacks a function of the client API.
    #[error("{0}")]
    Symbol(String),
    /// The library speaks another major client API version.
    #[error("libmpv has client API {major}.{minor}, not 2.x")]
    Version {
        /// Major version of the loaded library's client API.
        major: u64,
        /// Minor version of the loaded library's client API.
        minor: u64,
    },
}

/// Loads libmpv the first time, and returns it from then on. A failure is not remembered, so a
/// libmpv installed while the program runs is found on the next try.
///
/// # Errors
/// [`LoadError`] when no libmpv can be opened, or it is not a client API 2.x libmpv.
pub(crate) fn load() -> Result<&'static Api, LoadError> {
    static API: OnceLock<Api> = OnceLock::new();
    if let Some(api) = API.get() {
        return Ok(api);
    }
    // Two threads may both get here; the loser's copy only drops a reference to the library.
    let api = Api::load()?;
    Ok(API.get_or_init(|| api))
}

impl Api {
    fn load() -> Result<Api, LoadError> {
        let library = open()?;
        // SAFETY: client.h: `unsigned long mpv_client_api_version(void)`.
        let version_fn: unsafe extern "C" fn() -> c_ulong =
            unsafe { function(&library, "mpv_client_api_version") }?;
        // SAFETY: takes nothing and only returns a constant; callable before anything else.
        let version = unsafe { version_fn() };
        #[allow(
            clippy::useless_conversion,
            reason = "`unsigned long` is 32 bits on Windows"
        )]
        let version = u64::from(version);
        if version >> 16 != API_MAJOR {
            return Err(LoadError::Version {
                major: version >> 16,
                minor: version & 0xffff,
            });
        }
        // SAFETY: each field's type is the prototype of the function it is resolved from, as
        // client.h and render.h declare it for client API 2.x (checked just above).
        let api = unsafe {
            Api {
                create: function(&library, "mpv_create")?,
                initialize: function(&library, "mpv_initialize")?,
                terminate_destroy: function(&library, "mpv_terminate_destroy")?,
                set_option_string: function(&library, "mpv_set_option_string")?,
                command: function(&library, "mpv_command")?,
                set_property: function(&library, "mpv_set_property")?,
                observe_property: function(&library, "mpv_observe_property")?,
                request_event: function(&library, "mpv_request_event")?,
                wait_event: function(&library, "mpv_wait_event")?,
                error_string: function(&library, "mpv_error_string")?,
                request_log_messages: function(&library, "mpv_request_log_messages")?,
                render_context_create: function(&library, "mpv_render_context_create")?,
                render_context_set_update_callback: function(
                    &library,
                    "mpv_render_context_set_update_callback",
                )?,
                render_context_update: function(&library, "mpv_render_context_update")?,
                render_context_render: function(&library, "mpv_render_context_render")?,
                render_context_free: function(&library, "mpv_render_context_free")?,
                _library: library,
            }
        };
        Ok(api)
    }

    /// The error for a negative `code`, with libmpv's own words for it.
    fn error(&'static self, code: c_int) -> Error {
        // SAFETY: accepts any int; returns a static string ("unknown error" for unknown codes),
        // valid as long as the library is loaded, which is for good (`self` is 'static).
        let text = unsafe { (self.error_string)(code) };
        let text = if text.is_null() {
            "unknown error"
        } else {
            // SAFETY: a NUL-terminated static string, see above.
            unsafe { CStr::from_ptr(text) }
                .to_str()
                .unwrap_or("unknown error")
        };
        Error::Mpv { code, text }
    }

    /// `Ok` for a libmpv status code that means success (>= 0), the error otherwise.
    fn check(&'static self, status: c_int) -> Result<(), Error> {
        if status >= 0 {
            Ok(())
        } else {
            Err(self.error(status))
        }
    }
}

/// Opens the first of [`LIBRARY_NAMES`] that the dynamic loader finds.
fn open() -> Result<Library, LoadError> {
    let mut first_error = None;
    for name in LIBRARY_NAMES {
        // SAFETY: opening runs the initialisers of libmpv and the libraries it needs; they are
        // ordinary system libraries whose initialisers ask nothing of the caller.
        match unsafe { Library::new(name) } {
            Ok(library) => return Ok(library),
            Err(err) => {
                first_error.get_or_insert(err);
            }
        }
    }
    Err(LoadError::NotFound(first_error.map_or_else(
        || "no file name to try".to_owned(),
        |err| err.to_string(),
    )))
}

/// The address of the C function `name` in `library`, as a `T`.
///
/// # Safety
/// `T` must be an `unsafe extern "C" fn` type matching the function's C prototype, and the
/// pointer must not be called after `library` is dropped.
unsafe fn function<T: Copy>(library: &Library, name: &str) -> Result<T, LoadError> {
    // SAFETY: the caller vouches for `T`; copying the pointer out of the `Symbol` is sound as
    // long as the library stays loaded, which the caller vouches for too.
    let symbol = unsafe { library.get::<T>(name.as_bytes()) };
    symbol
        .map(|symbol| *symbol)
        .map_err(|err| LoadError::Symbol(err.to_string()))
}

/// An error from libmpv, or text that cannot be passed to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Error {
    /// A negative `mpv_error` code (see [`error_code`]) and libmpv's short description of it.
    Mpv {
        /// The `mpv_error` code.
        code: c_int,
        /// `mpv_error_string(code)`.
        text: &'static str,
    },
    /// A string had a NUL byte, which a C string cannot carry.
    Nul,
}

/// What a property is received as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Format {
    /// `MPV_FORMAT_FLAG`: yes or no.
    Flag,
    /// `MPV_FORMAT_DOUBLE`.
    Double,
}

impl Format {
    fn raw(self) -> c_int {
        match self {
            Format::Flag => FORMAT_FLAG,
            Format::Double => FORMAT_DOUBLE,
        }
    }
}

/// A property's new value.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum PropertyValue {
    /// The property is unavailable (e.g. between files), or could not be read.
    None,
    /// A [`Format::Flag`] value.
    Flag(bool),
    /// A [`Format::Double`] value.
    Double(f64),
}

/// Why a file ended (`mpv_end_file_reason`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum EndFileReason {
    /// The end of the media.
    Eof,
    /// Stopped by a command (a `loadfile ... replace`).
    Stop,
    /// mpv is quitting.
    Quit,
    /// Playback failed.
    Error,
    /// The file was a playlist; its entries follow.
    Redirect,
    /// A reason this binding does not know (client.h: treat as unknown).
    Unknown(c_int),
}

/// An mpv event, copied out of libmpv's memory. Events the engine does not use are
/// [`Other`](Self::Other).
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Event {
    /// `MPV_EVENT_SHUTDOWN`: the core is quitting; the handle is finished.
    Shutdown,
    /// `MPV_EVENT_LOG_MESSAGE`, after [`Handle::request_log_messages`].
    LogMessage {
        /// The module that logged (`ao/alsa`, `ffmpeg`…).
        prefix: String,
        /// The level's name (`error`, `warn`, `info`…).
        level: String,
        /// The message, without its trailing newline.
        text: String,
    },
    /// `MPV_EVENT_START_FILE`.
    StartFile,
    /// `MPV_EVENT_END_FILE` without an error.
    EndFile(EndFileReason),
    /// `MPV_EVENT_PLAYBACK_RESTART`.
    PlaybackRestart,
    /// `MPV_EVENT_PROPERTY_CHANGE`.
    PropertyChange {
        /// The id the property was observed with.
        id: u64,
        /// Its new value.
        value: PropertyValue,
    },
    /// Any other event.
    Other,
}

/// An initialized or uninitialized mpv instance (`mpv_handle`); destroyed when dropped, which
/// blocks until the core has stopped.
///
/// `Send` but not `Sync`: one thread at a time uses it, which also keeps to libmpv's rule of
/// one waiter per handle.
#[derive(Debug)]
pub(crate) struct Handle {
    api: &'static Api,
    ctx: NonNull<RawHandle>,
}

// SAFETY: libmpv's client API may be called from any thread; a handle is not tied to the thread
// that created it. Not being `Sync` keeps calls on one handle to one thread at a time.
unsafe impl Send for Handle {}

impl Handle {
    /// Creates an uninitialized mpv instance (`mpv_create`): set options, then
    /// [`initialize`](Self::initialize). `None` when libmpv refuses: out of memory, or the
    /// process's `LC_NUMERIC` is not `C`.
    pub(crate) fn create(api: &'static Api) -> Option<Handle> {
        // SAFETY: takes nothing; returns a new handle or NULL.
        let ctx = unsafe { (api.create)() };
        NonNull::new(ctx).map(|ctx| Handle { api, ctx })
    }

    /// Sets option `name` to `value` (`mpv_set_option_string`).
    pub(crate) fn set_option(&self, name: &str, value: &str) -> Result<(), Error> {
        let (name, value) = (c_string(name)?, c_string(value)?);
        // SAFETY: a live handle and two NUL-terminated strings that outlive the call (libmpv
        // copies what it keeps).
        let status = unsafe {
            (self.api.set_option_string)(self.ctx.as_ptr(), name.as_ptr(), value.as_ptr())
        };
        self.api.check(status)
    }

    /// Starts the instance (`mpv_initialize`).
    pub(crate) fn initialize(&self) -> Result<(), Error> {
        // SAFETY: a live handle.
        let status = unsafe { (self.api.initialize)(self.ctx.as_ptr()) };
        self.api.check(status)
    }

    /// Runs a command, e.g. `["loadfile", url]` (`mpv_command`).
    pub(crate) fn command(&self, args: &[&str]) -> Result<(), Error> {
        let args = args
            .iter()
            .map(|arg| c_string(arg))
            .collect::<Result<Vec<_>, _>>()?;
        let mut argv: Vec<*const c_char> = args.iter().map(|arg| arg.as_ptr()).collect();
        argv.push(std::ptr::null());
        // SAFETY: a live handle and a NULL-terminated array of NUL-terminated strings, all
        // alive (`args`, `argv`) until the call returns; libmpv does not write to them.
        let status = unsafe { (self.api.command)(self.ctx.as_ptr(), argv.as_mut_ptr()) };
        self.api.check(status)
    }

    /// Sets property `name` to a double (`mpv_set_property` with `MPV_FORMAT_DOUBLE`).
    pub(crate) fn set_property_f64(&self, name: &str, value: f64) -> Result<(), Error> {
        let name = c_string(name)?;
        let mut value: c_double = value;
        // SAFETY: a live handle, a NUL-terminated name and a pointer to a double, as
        // MPV_FORMAT_DOUBLE requires; libmpv only reads it during the call.
        let status = unsafe {
            (self.api.set_property)(
                self.ctx.as_ptr(),
                name.as_ptr(),
                FORMAT_DOUBLE,
                (&raw mut value).cast(),
            )
        };
        self.api.check(status)
    }

    /// Reports changes of property `name` as [`Event::PropertyChange`] with `id`
    /// (`mpv_observe_property`); the first report is the current value.
    pub(crate) fn observe_property(
        &self,
        id: u64,
        name: &str,
        format: Format,
    ) -> Result<(), Error> {
        let name = c_string(name)?;
        // SAFETY: a live handle and a NUL-terminated name (libmpv copies it).
        let status = unsafe {
            (self.api.observe_property)(self.ctx.as_ptr(), id, name.as_ptr(), format.raw())
        };
        self.api.check(status)
    }

    /// Turns off the deprecated `idle` and `tick` events, which only wake the waiter for nothing.
    pub(crate) fn disable_deprecated_events(&self) -> Result<(), Error> {
        for event in [EVENT_IDLE, EVENT_TICK] {
            // SAFETY: a live handle; any event id is accepted (unknown ones are an error code).
            let status = unsafe { (self.api.request_event)(self.ctx.as_ptr(), event, 0) };
            self.api.check(status)?;
        }
        Ok(())
    }

    /// Asks for libmpv's own messages of `min_level` (`"warn"`, `"info"`…) and above, as
    /// [`Event::LogMessage`] (`mpv_request_log_messages`). Without this libmpv says nothing.
    pub(crate) fn request_log_messages(&self, min_level: &str) -> Result<(), Error> {
        let level = c_string(min_level)?;
        // SAFETY: a live handle and a NUL-terminated level name (libmpv copies what it keeps).
        let status = unsafe { (self.api.request_log_messages)(self.ctx.as_ptr(), level.as_ptr()) };
        self.api.check(status)
    }

    /// Waits up to `timeout_s` seconds for the next event (`mpv_wait_event`). `None` when none
    /// came; an error when the event reports one (a failed load arrives this way, including as
    /// an end-file event with an error).
    pub(crate) fn wait_event(&self, timeout_s: f64) -> Option<Result<Event, Error>> {
        // SAFETY: a live handle, waited on by this thread only (`Handle` is not `Sync`).
        let event = unsafe { (self.api.wait_event)(self.ctx.as_ptr(), timeout_s) };
        // SAFETY: client.h: never NULL (checked anyway), and valid until the next wait, which
        // cannot happen before this function returns; copied at once.
        let event = unsafe { event.as_ref() }.copied()?;
        if event.event_id == EVENT_NONE {
            return None;
        }
        if event.error < 0 {
            return Some(Err(self.api.error(event.error)));
        }
        Some(Ok(match event.event_id {
            EVENT_SHUTDOWN => Event::Shutdown,
            EVENT_LOG_MESSAGE => {
                // SAFETY: for LOG_MESSAGE `data` is an `mpv_event_log_message*`, valid like the
                // event.
                let Some(message) =
                    (unsafe { event.data.cast::<RawEventLogMessage>().as_ref() }).copied()
                else {
                    return Some(Ok(Event::Other));
                };
                // SAFETY: its three strings are NULL or NUL-terminated, valid like the event.
                let (prefix, level, text) = unsafe {
                    (
                        owned_text(message.prefix),
                        owned_text(message.level),
                        owned_text(message.text),
                    )
                };
                Event::LogMessage {
                    prefix,
                    level,
                    text: text.trim_end_matches('\n').to_owned(),
                }
            }
            EVENT_START_FILE => Event::StartFile,
            EVENT_PLAYBACK_RESTART => Event::PlaybackRestart,
            EVENT_END_FILE => {
                // SAFETY: for END_FILE `data` is an `mpv_event_end_file*`, valid like the event.
                let Some(end) = (unsafe { event.data.cast::<RawEventEndFile>().as_ref() }) else {
                    return Some(Ok(Event::Other));
                };
                if end.error < 0 {
                    return Some(Err(self.api.error(end.error)));
                }
                Event::EndFile(end_file_reason(end.reason))
            }
            EVENT_PROPERTY_CHANGE => {
                // SAFETY: for PROPERTY_CHANGE `data` is an `mpv_event_property*`, valid like the
                // event.
                let Some(property) =
                    (unsafe { event.data.cast::<RawEventProperty>().as_ref() }).copied()
                else {
                    return Some(Ok(Event::Other));
                };
                Event::PropertyChange {
                    id: event.reply_userdata,
                    // SAFETY: straight from the event, still valid (see above).
                    value: unsafe { property_value(property) },
                }
            }
            _ => Event::Other,
        }))
    }
}

impl Drop for Handle {
    fn drop(&mut self) {
        // SAFETY: a live handle, used by no one else (we own it); it is not used after this.
        unsafe { (self.api.terminate_destroy)(self.ctx.as_ptr()) };
    }
}

/// A C string copied into an owned `String` (invalid UTF-8 replaced); empty for NULL.
///
/// # Safety
/// `text` must be NULL or point at a NUL-terminated string that stays valid during the call.
unsafe fn owned_text(text: *const c_char) -> String {
    if text.is_null() {
        return String::new();
    }
    // SAFETY: NUL-terminated and valid, the caller vouches.
    unsafe { CStr::from_ptr(text) }
        .to_string_lossy()
        .into_owned()
}

/// The surface a frame is rendered into: `rgb0` pixels (4 bytes each, red first, the fourth
/// byte garbage), rows `stride` bytes apart, aligned as render.h asks for fast paths.
#[derive(Debug, Clone, Default)]
pub(crate) struct Surface {
    /// Width in pixels.
    width: usize,
    /// Height in pixels.
    height: usize,
    /// The pixels, in 64-byte blocks so that the start (and every row, since the stride is a
    /// multiple of 64) is 64-byte aligned.
    blocks: Vec<Block>,
}

/// 64 bytes aligned to 64: render.h wants the surface's pointer and stride multiples of 64.
#[derive(Debug, Clone, Copy)]
#[repr(C, align(64))]
struct Block([u8; 64]);

impl Surface {
    /// The bytes from one row to the next: the row's pixels rounded up to 64.
    fn stride(width: usize) -> usize {
        (width * 4).div_ceil(64) * 64
    }

    /// Makes it `width`×`height` (reusing its memory when it can).
    pub(crate) fn resize(&mut self, width: usize, height: usize) {
        self.width = width;
        self.height = height;
        let blocks = Self::stride(width) / 64 * height;
        self.blocks.resize(blocks, Block([0; 64]));
    }

    /// Width and height in pixels.
    pub(crate) fn size(&self) -> (usize, usize) {
        (self.width, self.height)
    }

    /// The pixels as packed `rgb0` rows (`width * 4` bytes each, the stride's padding left
    /// out), appended to `out`.
    pub(crate) fn copy_packed(&self, out: &mut Vec<u8>) {
        let stride = Self::stride(self.width);
        let row_bytes = self.width * 4;
        let bytes = self.blocks.as_slice();
        for row in 0..self.height {
            let mut left = row_bytes;
            let first = row * stride / 64;
            for block in &bytes[first..first + stride / 64] {
                let take = left.min(64);
                out.extend_from_slice(&block.0[..take]);
                left -= take;
                if left == 0 {
                    break;
                }
            }
        }
    }
}

/// An mpv software renderer (`mpv_render_context` with the `sw` API) of one core, which must
/// run with `vo=libmpv`. Freed when dropped, which must happen before the core's [`Handle`] is
/// dropped (the engine joins the render thread first).
///
/// Render API rules kept here: only one `mpv_render_*` call at a time (`&mut self`), never from
/// the update callback, and the thread calling them calls no other libmpv function.
pub(crate) struct RenderContext {
    api: &'static Api,
    ctx: NonNull<RawRenderContext>,
    /// The update callback's closure, owned here and freed after the context.
    callback: Option<NonNull<UpdateCallback>>,
}

/// What the update callback calls.
type UpdateCallback = Box<dyn Fn() + Send + Sync>;

impl std::fmt::Debug for RenderContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RenderContext(sw)")
    }
}

// SAFETY: render.h: the mpv_render_* functions may be called from any thread (libmpv >= 0.30,
// i.e. every client API 2.x), one call at a time, which `&mut self` ensures; the callback
// closure is `Send + Sync`.
unsafe impl Send for RenderContext {}

impl RenderContext {
    /// Creates a software renderer for `mpv`'s core (`mpv_render_context_create` with
    /// `MPV_RENDER_API_TYPE_SW`). Must happen before a file is loaded, so video output finds it.
    pub(crate) fn create_sw(mpv: &Handle) -> Result<RenderContext, Error> {
        let api_type = c_string("sw")?;
        let mut params = [
            RawRenderParam {
                kind: RENDER_PARAM_API_TYPE,
                data: api_type.as_ptr().cast_mut().cast(),
            },
            RawRenderParam {
                kind: RENDER_PARAM_INVALID,
                data: std::ptr::null_mut(),
            },
        ];
        let mut ctx: *mut RawRenderContext = std::ptr::null_mut();
        // SAFETY: a live handle, a place for the result, and a parameter list terminated by
        // INVALID whose API type string outlives the call (libmpv does not keep it).
        let status = unsafe {
            (mpv.api.render_context_create)(&raw mut ctx, mpv.ctx.as_ptr(), params.as_mut_ptr())
        };
        mpv.api.check(status)?;
        let ctx = NonNull::new(ctx).ok_or_else(|| mpv.api.error(error_code::UNSUPPORTED))?;
        Ok(RenderContext {
            api: mpv.api,
            ctx,
            callback: None,
        })
    }

    /// Has `wake` called whenever a new frame is ready or the picture must be redrawn
    /// (`mpv_render_context_set_update_callback`; called once at once). `wake` runs on one of
    /// mpv's threads: it must be quick and must not call libmpv.
    pub(crate) fn set_update_callback(&mut self, wake: impl Fn() + Send + Sync + 'static) {
        let boxed: Box<UpdateCallback> = Box::new(Box::new(wake));
        let callback = NonNull::from(Box::leak(boxed));
        // SAFETY: a live context; the trampoline matches `mpv_render_update_fn` and the pointer
        // stays valid until after the context is freed (see `Drop`); the previous closure, if
        // any, is freed only after libmpv has switched to the new one.
        unsafe {
            (self.api.render_context_set_update_callback)(
                self.ctx.as_ptr(),
                Some(update_trampoline),
                callback.as_ptr().cast(),
            );
        }
        if let Some(previous) = self.callback.replace(callback) {
            // SAFETY: leaked by an earlier call of this function and no longer used by libmpv.
            drop(unsafe { Box::from_raw(previous.as_ptr()) });
        }
    }

    /// Whether a new frame is waiting to be rendered (`mpv_render_context_update`). Call it
    /// after each wake-up.
    pub(crate) fn frame_pending(&mut self) -> bool {
        // SAFETY: a live context, not from the update callback (we are not in it).
        let flags = unsafe { (self.api.render_context_update)(self.ctx.as_ptr()) };
        flags & RENDER_UPDATE_FRAME != 0
    }

    /// Renders the current frame into `surface` (`mpv_render_context_render` with the SW size,
    /// format `rgb0`, stride and pointer), scaled to fit with black bars.
    pub(crate) fn render(&mut self, surface: &mut Surface) -> Result<(), Error> {
        let (width, height) = surface.size();
        let (Ok(w), Ok(h)) = (c_int::try_from(width), c_int::try_from(height)) else {
            return Err(self.api.error(error_code::UNSUPPORTED));
        };
        if width == 0 || height == 0 {
            return Ok(());
        }
        let mut size: [c_int; 2] = [w, h];
        let format = c"rgb0";
        let mut stride: usize = Surface::stride(width);
        let mut params = [
            RawRenderParam {
                kind: RENDER_PARAM_SW_SIZE,
                data: size.as_mut_ptr().cast(),
            },
            RawRenderParam {
                kind: RENDER_PARAM_SW_FORMAT,
                data: format.as_ptr().cast_mut().cast(),
            },
            RawRenderParam {
                kind: RENDER_PARAM_SW_STRIDE,
                data: (&raw mut stride).cast(),
            },
            RawRenderParam {
                kind: RENDER_PARAM_SW_POINTER,
                data: surface.blocks.as_mut_ptr().cast(),
            },
            RawRenderParam {
                kind: RENDER_PARAM_INVALID,
                data: std::ptr::null_mut(),
            },
        ];
        // SAFETY: a live context; the surface holds `stride * height` writable bytes (its
        // blocks), 64-byte aligned with a stride that is a multiple of 64 and holds `width`
        // rgb0 pixels, as render.h requires; every parameter outlives the call.
        let status =
            unsafe { (self.api.render_context_render)(self.ctx.as_ptr(), params.as_mut_ptr()) };
        self.api.check(status)
    }
}

impl Drop for RenderContext {
    fn drop(&mut self) {
        // SAFETY: a live context, used by no one else (we own it); not used after this. The
        // core is still alive: the engine drops this before its `Handle`.
        unsafe { (self.api.render_context_free)(self.ctx.as_ptr()) };
        if let Some(callback) = self.callback.take() {
            // SAFETY: leaked by `set_update_callback`; the context that called it is gone.
            drop(unsafe { Box::from_raw(callback.as_ptr()) });
        }
    }
}

/// The update callback libmpv calls: runs the closure `ctx` points at.
///
/// # Safety
/// `ctx` must point at a live [`UpdateCallback`], as [`RenderContext::set_update_callback`]
/// ensures.
unsafe extern "C" fn update_trampoline(ctx: *mut c_void) {
    // SAFETY: the caller (libmpv, with the pointer we gave it) vouches.
    let Some(wake) = (unsafe { ctx.cast::<UpdateCallback>().as_ref() }) else {
        return;
    };
    // A panic must not unwind into C.
    let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(wake));
}

/// Copies the value of a property-change event.
///
/// # Safety
/// `property.data` must be NULL or point at a value of `property.format`, as libmpv's events do
/// until the next wait.
unsafe fn property_value(property: RawEventProperty) -> PropertyValue {
    if property.format == FORMAT_NONE || property.data.is_null() {
        return PropertyValue::None;
    }
    match property.format {
        // SAFETY: for MPV_FORMAT_FLAG `data` points at an `int` (0 or 1), the caller vouches.
        FORMAT_FLAG => PropertyValue::Flag(unsafe { *property.data.cast::<c_int>() } != 0),
        // SAFETY: for MPV_FORMAT_DOUBLE `data` points at a `double`, the caller vouches.
        FORMAT_DOUBLE => PropertyValue::Double(unsafe { *property.data.cast::<c_double>() }),
        // Formats that are never asked for.
        _ => PropertyValue::None,
    }
}

fn end_file_reason(reason: c_int) -> EndFileReason {
    match reason {
        END_FILE_REASON_EOF => EndFileReason::Eof,
        END_FILE_REASON_STOP => EndFileReason::Stop,
        END_FILE_REASON_QUIT => EndFileReason::Quit,
        END_FILE_REASON_ERROR => EndFileReason::Error,
        END_FILE_REASON_REDIRECT => EndFileReason::Redirect,
        other => EndFileReason::Unknown(other),
    }
}

fn c_string(text: &str) -> Result<CString, Error> {
    CString::new(text).map_err(|_| Error::Nul)
}

#[cfg(test)]
mod tests {
    use std::mem::{offset_of, size_of};

    use super::*;

    /// The offsets client.h gives these structs on a 64-bit target (checked with `offsetof`
    /// against /usr/include/mpv/client.h of libmpv 0.35.1).
    #[test]
    #[cfg(target_pointer_width = "64")]
    fn event_structs_have_client_h_layouts() {
        assert_eq!(offset_of!(RawEvent, error), 4);
        assert_eq!(offset_of!(RawEvent, reply_userdata), 8);
        assert_eq!(offset_of!(RawEvent, data), 16);
        assert_eq!(size_of::<RawEvent>(), 24);

        assert_eq!(offset_of!(RawEventProperty, format), 8);
        assert_eq!(offset_of!(RawEventProperty, data), 16);
        assert_eq!(size_of::<RawEventProperty>(), 24);

        assert_eq!(offset_of!(RawEventEndFile, error), 4);
        assert_eq!(offset_of!(RawEventEndFile, _playlist_entry_id), 8);
        assert_eq!(offset_of!(RawEventEndFile, _playlist_insert_id), 16);
        assert_eq!(
            offset_of!(RawEventEndFile, _playlist_insert_num_entries),
            24
        );
        assert_eq!(size_of::<RawEventEndFile>(), 32);

        assert_eq!(offset_of!(RawEventLogMessage, level), 8);
        assert_eq!(offset_of!(RawEventLogMessage, text), 16);
        assert_eq!(offset_of!(RawEventLogMessage, _log_level), 24);
        assert_eq!(size_of::<RawEventLogMessage>(), 32);

        // render.h's `mpv_render_param`.
        assert_eq!(offset_of!(RawRenderParam, data), 8);
        assert_eq!(size_of::<RawRenderParam>(), 16);
    }

    #[test]
    fn a_surface_is_aligned_and_copied_without_its_padding() {
        let mut surface = Surface::default();
        surface.resize(3, 2);
        assert_eq!(Surface::stride(3), 64, "12 bytes of pixels, padded to 64");
        assert_eq!(surface.blocks.len(), 2);
        assert_eq!(surface.blocks.as_ptr().align_offset(64), 0);
        surface.blocks[1].0[..12].copy_from_slice(&[7; 12]);
        let mut packed = Vec::new();
        surface.copy_packed(&mut packed);
        assert_eq!(packed.len(), 3 * 2 * 4);
        assert_eq!(&packed[..12], &[0; 12]);
        assert_eq!(&packed[12..], &[7; 12]);
        // Wide rows span several blocks.
        surface.resize(20, 1);
        assert_eq!(Surface::stride(20), 128);
        packed.clear();
        surface.copy_packed(&mut packed);
        assert_eq!(packed.len(), 80);
    }

    #[test]
    fn property_values_are_read_in_their_format() {
        let mut flag: c_int = 1;
        let mut double: c_double = 2.5;
        let property = |format, data: *mut c_void| RawEventProperty {
            _name: std::ptr::null(),
            format,
            data,
        };
        let read = |format, data| {
            // SAFETY: `data` is NULL or points at a live value of `format`.
            unsafe { property_value(property(format, data)) }
        };
        assert_eq!(
            read(FORMAT_FLAG, (&raw mut flag).cast()),
            PropertyValue::Flag(true)
        );
        assert_eq!(
            read(FORMAT_DOUBLE, (&raw mut double).cast()),
            PropertyValue::Double(2.5)
        );
        assert_eq!(read(FORMAT_NONE, std::ptr::null_mut()), PropertyValue::None);
    }

    #[test]
    fn unknown_end_file_reasons_stay_unknown() {
        assert_eq!(end_file_reason(END_FILE_REASON_EOF), EndFileReason::Eof);
        assert_eq!(end_file_reason(1), EndFileReason::Unknown(1));
    }

    #[test]
    fn nul_bytes_cannot_reach_libmpv() {
        assert_eq!(c_string("a\0b").err(), Some(Error::Nul));
    }
}
