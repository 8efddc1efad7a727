//! The live room: a header with the gig, the stream panel (status, viewers, resolution,
//! bitrate, uptime, the player, sparklines of bitrate and viewers; or, while the player draws in
//! the terminal, the video itself with a caption) and the chat (scrollback with coloured
//! handles, join and leave lines, the connection's state, the input line). Full screen, the
//! video takes the whole terminal with the chat's newest line over its bottom row.
//!
//! A replay's room shows the replay panel instead of the stream's facts: the position bar
//! (position / length), the player, the window's end and the seek keys; its chat is the history
//! up to the position.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph, Sparkline, Wrap};

use super::theme::Theme;
use super::video::HalfBlocks;
use crate::tui::app::State;
use crate::tui::graphics::Picture;
use crate::tui::replay::ReplayView;
use crate::tui::room::{ChatLine, Connection, PlayerState, Room, SAMPLES, STREAM_POLL_SECONDS};

/// The most rows a sparkline takes.
const CHART_ROWS: u16 = 5;

/// The room's header row: the app's name, the stream's badge, the gig's title and host.
pub fn header(frame: &mut Frame<'_>, area: Rect, state: &State, room: &Room) {
    let theme = Theme::new(state.color);
    let badge = match &room.stream {
        _ if room.replay.is_some() => Span::styled(" REPLAY ", theme.accent()),
        Some(stream) if stream.live => Span::styled(" LIVE ", theme.live()),
        Some(_) => Span::styled(" OFFLINE ", theme.dim()),
        None => Span::styled(" … ", theme.dim()),
    };
    let line = Line::from(vec![
        Span::styled(" BookMyGig  ", theme.accent()),
        badge,
        Span::raw(" "),
        Span::styled(room.gig.title.as_str(), theme.bold()),
        Span::styled(format!(" — {}", room.gig.creator_name), theme.dim()),
    ]);
    frame.render_widget(Paragraph::new(line), area);
}

/// The stream panel and the chat side by side.
pub fn body(frame: &mut Frame<'_>, area: Rect, state: &State, room: &Room) {
    let video = room.video_in_terminal();
    let [panel, chat_area] = split(area, video);
    match &room.replay {
        _ if video => video_panel(frame, panel, state, room),
        Some(view) => replay_panel(frame, panel, state, room, view),
        None => stream_panel(frame, panel, state, room),
    }
    chat(frame, chat_area, state, room);
}

/// The stream panel and the chat's areas; the panel is wider while it shows the `video`.
pub fn split(body: Rect, video: bool) -> [Rect; 2] {
    if video {
        return Layout::horizontal([Constraint::Fill(3), Constraint::Fill(2)]).areas(body);
    }
    let panel_width = if body.width >= 110 { 42 } else { 32 };
    Layout::horizontal([Constraint::Length(panel_width), Constraint::Min(0)]).areas(body)
}

/// Where the video is drawn within the room's body, while the player draws in the terminal
/// (the panel, not full screen); the event loop sizes the frames after it.
pub fn video_area(body: Rect, room: &Room) -> Option<Rect> {
    if !room.video_in_terminal() {
        return None;
    }
    let [panel, _] = split(body, true);
    let [picture, _, _] = video_layout(Block::bordered().inner(panel), room);
    Some(picture)
}

/// The picture (as tall as the stream's shape wants, 16:9 until it is known), its caption line
/// and the stream's facts below, within the video panel.
fn video_layout(inner: Rect, room: &Room) -> [Rect; 3] {
    let (width, height) = room
        .stream
        .as_ref()
        .and_then(|stream| stream.video.as_ref())
        .and_then(|video| video.width.zip(video.height))
        .filter(|&(w, h)| w > 0 && h > 0)
        .unwrap_or((16, 9));
    // Two pixels per row: a cell is about twice as tall as it is wide.
    let rows = (u64::from(inner.width) * u64::from(height)).div_ceil(u64::from(width) * 2);
    let rows = u16::try_from(rows).unwrap_or(u16::MAX);
    Layout::vertical([
        Constraint::Max(rows),
        Constraint::Length(1),
        Constraint::Min(0),
    ])
    .areas(inner)
}

/// The stream panel while the player draws in the terminal: the picture, a caption with the
/// player's state and the video's keys, and the stream's facts below.
fn video_panel(frame: &mut Frame<'_>, area: Rect, state: &State, room: &Room) {
    let theme = Theme::new(state.color);
    let block = Block::bordered().title(" Stream ");
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let [picture_area, caption, rest] = video_layout(inner, room);
    picture(frame, picture_area, room, &theme);
    let key = |name| state.keymap.first_key(name).unwrap_or_default();
    let mut spans = Vec::new();
    if room.live() {
        spans.push(Span::styled(" LIVE ", theme.live()));
        spans.push(Span::raw(" "));
    }
    if let Some(view) = &room.replay {
        spans.push(Span::raw(format!("{} ", position(view))));
    }
    spans.push(player(room, &theme));
    spans.push(Span::styled(
        format!(
            " · {}: window · {}: full screen",
            key("video_output"),
            key("full_screen")
        ),
        theme.dim(),
    ));
    frame.render_widget(Paragraph::new(Line::from(spans)), caption);
    let below = match &room.replay {
        Some(view) => replay_lines(state, view, rest.width, &theme),
        None => facts(state, room, &theme),
    };
    frame.render_widget(Paragraph::new(below).wrap(Wrap { trim: true }), rest);
}

/// `12:34 / 1:02:03`: a replay's position and length (`–` while the length is unknown).
fn position(view: &ReplayView) -> String {
    let at = clock(view.position_s.round() as i64);
    match view.duration_s() {
        Some(duration) => format!("{at} / {}", clock(duration.round() as i64)),
        None => format!("{at} / –"),
    }
}

/// A bar `width` cells wide, filled to `progress` (0 to 1), with a knob at the position.
fn position_bar(progress: f64, width: u16) -> String {
    let width = usize::from(width.max(1));
    let knob = ((progress.clamp(0.0, 1.0) * (width - 1) as f64).round() as usize).min(width - 1);
    let mut bar = "━".repeat(knob);
    bar.push('●');
    bar.push_str(&"─".repeat(width - 1 - knob));
    bar
}

/// A replay's position bar, its position, the window's end and the keys.
fn replay_lines(state: &State, view: &ReplayView, width: u16, theme: &Theme) -> Vec<Line<'static>> {
    let mut lines = vec![
        Line::from(Span::styled(
            position_bar(view.progress(), width),
            theme.accent(),
        )),
        Line::from(vec![
            label("Position", theme),
            Span::raw(position(view)),
            Span::styled(if view.paused { "  paused" } else { "" }, theme.dim()),
        ]),
    ];
    if let Some(grant) = view.grant {
        lines.push(Line::from(vec![
            label("Until", theme),
            Span::raw(format!(
                "{} {}",
                state.zone.date(grant.available_until),
                state.zone.clock(grant.available_until)
            )),
        ]));
    }
    lines.push(Line::from(Span::styled(
        "←/→ 10 s · ⇧←/⇧→ 1 min · Space pause",
        theme.dim(),
    )));
    lines
}

/// The replay panel: what is played, where, and how to move.
fn replay_panel(frame: &mut Frame<'_>, area: Rect, state: &State, room: &Room, view: &ReplayView) {
    let theme = Theme::new(state.color);
    let block = Block::bordered().title(" Replay ");
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let mut lines = vec![
        Line::from("The show ended: its recording"),
        Line::from(vec![label("Player", &theme), player(room, &theme)]),
    ];
    lines.extend(replay_lines(state, view, inner.width, &theme));
    frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: true }), inner);
}

/// The newest frame over `area`, or a word while there is none yet.
fn picture(frame: &mut Frame<'_>, area: Rect, room: &Room, theme: &Theme) {
    match &room.picture {
        Some(Picture::Cells(picture)) => frame.render_widget(HalfBlocks { frame: picture }, area),
        Some(Picture::Image(image)) => frame.render_widget(ratatui_image::Image::new(image), area),
        None => frame.render_widget(
            Paragraph::new(Span::styled("waiting for the picture…", theme.dim())).centered(),
            Rect {
                y: area.y + area.height / 2,
                height: area.height.min(1),
                ..area
            },
        ),
    }
}

/// Full screen: the video over the whole `area`, and over its bottom row the chat's newest
/// line (or the input line while typing) with the key back.
pub fn full_screen(frame: &mut Frame<'_>, area: Rect, state: &State, room: &Room) {
    let theme = Theme::new(state.color);
    picture(frame, area, room, &theme);
    let overlay = Rect {
        y: area.bottom().saturating_sub(1),
        height: area.height.min(1),
        ..area
    };
    frame.render_widget(Clear, overlay);
    if room.typing {
        input_line(frame, overlay, state, room, &theme);
        return;
    }
    let key = |name| state.keymap.first_key(name).unwrap_or_default();
    let hint = format!(" {}/{}: back ", key("full_screen"), key("back"));
    let [line_area, hint_area] = Layout::horizontal([
        Constraint::Min(0),
        Constraint::Length(u16::try_from(hint.chars().count()).unwrap_or(u16::MAX)),
    ])
    .areas(overlay);
    let newest = room.chat.back().map_or_else(
        || Line::from(Span::styled("No messages yet.", theme.dim())),
        |line| chat_line(line, state, &theme),
    );
    frame.render_widget(Paragraph::new(newest), line_area);
    frame.render_widget(Paragraph::new(Span::styled(hint, theme.dim())), hint_area);
}

/// The chat's scrollback and input line within the chat's area.
pub fn chat_split(chat_area: Rect) -> [Rect; 2] {
    let inner = Block::bordered().inner(chat_area);
    Layout::vertical([Constraint::Min(0), Constraint::Length(1)]).areas(inner)
}

/// `1:02:03` or `2:03`.
fn clock(seconds: i64) -> String {
    let seconds = seconds.max(0);
    let (h, m, s) = (seconds / 3600, seconds / 60 % 60, seconds % 60);
    if h > 0 {
        format!("{h}:{m:02}:{s:02}")
    } else {
        format!("{m}:{s:02}")
    }
}

/// The stream's facts, the player's state and the sparklines.
fn stream_panel(frame: &mut Frame<'_>, area: Rect, state: &State, room: &Room) {
    let theme = Theme::new(state.color);
    let block = Block::bordered().title(" Stream ");
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let mut lines = Vec::new();
    let status = match &room.stream {
        None if room.stream_error.is_none() => Line::from(Span::styled("Loading…", theme.dim())),
        None => Line::from(Span::styled("Status unknown", theme.dim())),
        Some(stream) if stream.live => Line::from(vec![
            Span::styled(" LIVE ", theme.live()),
            Span::raw(" on air"),
        ]),
        Some(stream) if stream.started_at.is_some() => Line::from("Offline: the host stopped"),
        Some(_) => Line::from("Waiting for the host"),
    };
    lines.push(status);
    // One line: the reason is long (a URL and an OS error) and the chat's notice has it.
    if room.stream_error.is_some() {
        lines.push(Line::from(Span::styled(
            "unreachable, retrying…",
            theme.error(),
        )));
    }
    lines.extend(facts(state, room, &theme));
    lines.push(Line::from(vec![
        label("Player", &theme),
        player(room, &theme),
    ]));
    let text_height = u16::try_from(lines.len()).unwrap_or(u16::MAX);
    let [text_area, charts] =
        Layout::vertical([Constraint::Length(text_height), Constraint::Min(0)]).areas(inner);
    frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: true }), text_area);
    charts_of(frame, charts, inner.width, room, &theme);
}

/// A fact's label, padded so the values line up.
fn label(text: &'static str, theme: &Theme) -> Span<'static> {
    Span::styled(format!("{text:<9}"), theme.dim())
}

/// The stream's facts: viewers, video, bitrate, uptime.
fn facts(state: &State, room: &Room, theme: &Theme) -> Vec<Line<'static>> {
    let label = |text| label(text, theme);
    let mut lines = Vec::new();
    let stream = room.stream.as_ref();
    let live = stream.filter(|s| s.live);
    lines.push(Line::from(vec![
        label("Viewers"),
        Span::raw(stream.map_or("–".to_owned(), |s| s.viewers.to_string())),
    ]));
    let video = live.and_then(|s| s.video.as_ref());
    let resolution = match video {
        Some(video) => {
            let size = match (video.width, video.height) {
                (Some(w), Some(h)) => format!("{w}×{h}"),
                _ => video.codec.clone(),
            };
            match video.fps {
                Some(fps) => format!("{size} {fps:.0} fps"),
                None => size,
            }
        }
        None => "–".to_owned(),
    };
    lines.push(Line::from(vec![label("Video"), Span::raw(resolution)]));
    let bitrate = video
        .and_then(|v| v.kbps)
        .map_or("–".to_owned(), |kbps| format!("{kbps:.0} kb/s"));
    lines.push(Line::from(vec![label("Bitrate"), Span::raw(bitrate)]));
    let uptime = live
        .and_then(|s| s.started_at)
        .map_or("–".to_owned(), |at| {
            clock((state.now - at).whole_seconds())
        });
    lines.push(Line::from(vec![label("Uptime"), Span::raw(uptime)]));
    lines
}

/// The sparklines of bitrate and viewers in `charts`, `width` samples at most.
fn charts_of(frame: &mut Frame<'_>, charts: Rect, width: u16, room: &Room, theme: &Theme) {
    let minutes = (SAMPLES as u64 * STREAM_POLL_SECONDS).div_ceil(60);
    let [
        bitrate_label,
        bitrate_chart,
        viewers_label,
        viewers_chart,
        _,
    ] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Max(CHART_ROWS),
        Constraint::Length(1),
        Constraint::Max(CHART_ROWS),
        Constraint::Fill(1),
    ])
    .areas(charts);
    if charts.height < 4 {
        return;
    }
    let width = usize::from(width);
    let last = |samples: &std::collections::VecDeque<u64>| -> Vec<u64> {
        samples
            .iter()
            .skip(samples.len().saturating_sub(width))
            .copied()
            .collect()
    };
    let bitrate_data = last(&room.bitrate);
    let viewers_data = last(&room.viewers);
    let (low, high) = (
        bitrate_data
            .iter()
            .copied()
            .filter(|&kbps| kbps > 0)
            .min()
            .unwrap_or(0),
        bitrate_data.iter().copied().max().unwrap_or(0),
    );
    // A bitrate moves within a band far above zero: drawn from zero every bar would look
    // full, so the floor sits as far below the lowest sample as the band is wide.
    let floor = low.saturating_sub((high - low).max(high / 10));
    let bitrate_bars: Vec<u64> = bitrate_data
        .iter()
        .map(|&kbps| kbps.saturating_sub(floor))
        .collect();
    let bitrate_title = if high > 0 {
        format!("Bitrate {low}–{high} kb/s, {minutes} min")
    } else {
        format!("Bitrate, last {minutes} min")
    };
    frame.render_widget(
        Paragraph::new(Span::styled(bitrate_title, theme.dim())),
        bitrate_label,
    );
    frame.render_widget(
        Sparkline::default()
            .data(&bitrate_bars)
            .style(theme.chart()),
        bitrate_chart,
    );
    frame.render_widget(
        Paragraph::new(Span::styled(
            format!("Viewers (max {})", viewers_data.iter().max().unwrap_or(&0)),
            theme.dim(),
        )),
        viewers_label,
    );
    frame.render_widget(
        Sparkline::default()
            .data(&viewers_data)
            .style(theme.chart()),
        viewers_chart,
    );
}

/// The player's state in words.
fn player(room: &Room, theme: &Theme) -> Span<'static> {
    match &room.player {
        PlayerState::Off => Span::styled("p to play", theme.dim()),
        PlayerState::Starting => Span::raw("starting…"),
        PlayerState::WaitingForStream => Span::raw("opens when live"),
        PlayerState::Loading => Span::raw("connecting…"),
        PlayerState::Playing { position_s } => Span::styled(
            match room.catching_up_from_s {
                // Short: the panel is narrow at 80 columns.
                Some(lag_s) => format!("▶ catching up {lag_s:.1} s"),
                None => format!("▶ playing {}", clock(position_s.round() as i64)),
            },
            theme.accent(),
        ),
        PlayerState::Buffering => Span::raw("buffering…"),
        PlayerState::Paused => Span::raw("paused"),
        PlayerState::Ended if room.want_play => Span::raw("ended; re-opens when live"),
        PlayerState::Ended => Span::raw("ended"),
        PlayerState::Failed(reason) if room.want_play => {
            Span::styled(format!("retrying ({reason})"), theme.error())
        }
        PlayerState::Failed(reason) => Span::styled(format!("failed: {reason}"), theme.error()),
    }
}

/// The chat: scrollback above, input line below.
fn chat(frame: &mut Frame<'_>, area: Rect, state: &State, room: &Room) {
    let theme = Theme::new(state.color);
    let here = room
        .presence
        .map(|n| format!(" · {n} here"))
        .unwrap_or_default();
    let (connection, connection_style) = match &room.connection {
        Connection::Connecting if room.replay.is_some() => {
            ("loading history…".to_owned(), theme.dim())
        }
        Connection::Connected if room.replay.is_some() => ("history".to_owned(), theme.dim()),
        Connection::Connecting => ("connecting…".to_owned(), theme.dim()),
        Connection::Connected => ("connected".to_owned(), theme.dim()),
        Connection::Reconnecting { attempt, .. } => {
            (format!("reconnecting (attempt {attempt})…"), theme.error())
        }
        Connection::Refused(_) => ("closed".to_owned(), theme.error()),
    };
    let scrolled = if room.scroll > 0 {
        format!(" · ↑{}", room.scroll)
    } else {
        String::new()
    };
    let block = Block::bordered()
        .title(format!(" Chat{here}{scrolled} "))
        .title(
            Line::from(Span::styled(format!(" {connection} "), connection_style)).right_aligned(),
        );
    frame.render_widget(block, area);
    let [messages, input] = chat_split(area);
    scrollback(frame, messages, state, room);
    input_line(frame, input, state, room, &theme);
}

/// The newest lines that fit (or those above the scroll position), wrapped by characters.
fn scrollback(frame: &mut Frame<'_>, area: Rect, state: &State, room: &Room) {
    let theme = Theme::new(state.color);
    if room.chat.is_empty() {
        let notice = match room.connection {
            Connection::Connecting if room.replay.is_some() => "Loading the chat history…",
            _ if room.replay.is_some() => "Nobody wrote in the chat during the show.",
            Connection::Connecting => "Connecting to the chat…",
            _ => "No messages yet. Press Enter to say something.",
        };
        frame.render_widget(
            Paragraph::new(Span::styled(notice, theme.dim())).wrap(Wrap { trim: true }),
            area,
        );
        return;
    }
    if room.replay.is_some() && room.scroll >= room.chat.len() {
        frame.render_widget(
            Paragraph::new(Span::styled(
                "Nothing said yet at this point of the show.",
                theme.dim(),
            ))
            .wrap(Wrap { trim: true }),
            area,
        );
        return;
    }
    let width = usize::from(area.width.max(1));
    let height = usize::from(area.height);
    let mut rows: Vec<Line<'_>> = Vec::new();
    for line in room.chat.iter().rev().skip(room.scroll) {
        let wrapped = wrap(chat_line(line, state, &theme), width);
        rows.splice(0..0, wrapped);
        if rows.len() >= height {
            break;
        }
    }
    let overflow = rows.len().saturating_sub(height);
    rows.drain(..overflow);
    // The newest line sits at the bottom, as in every chat.
    let padding = height - rows.len();
    rows.splice(0..0, std::iter::repeat_n(Line::default(), padding));
    frame.render_widget(Paragraph::new(rows), area);
}

/// One scrollback entry as a styled line.
fn chat_line<'a>(line: &'a ChatLine, state: &State, theme: &Theme) -> Line<'a> {
    match line {
        ChatLine::Message(message) => {
            let mine = state
                .me
                .as_ref()
                .is_some_and(|me| me.handle == message.author);
            let mut handle = theme.handle(&message.author);
            if mine {
                handle = handle.add_modifier(ratatui::style::Modifier::UNDERLINED);
            }
            Line::from(vec![
                Span::styled(
                    format!("{} ", state.zone.clock(message.sent_at)),
                    theme.dim(),
                ),
                Span::styled(message.author.as_str(), handle),
                Span::raw(": "),
                Span::raw(message.text.as_str()),
            ])
        }
        ChatLine::Joined(handle) => {
            Line::from(Span::styled(format!("→ {handle} joined"), theme.dim()))
        }
        ChatLine::Left(handle) => Line::from(Span::styled(format!("← {handle} left"), theme.dim())),
        ChatLine::Notice(text) => Line::from(Span::styled(format!("· {text}"), theme.dim())),
        ChatLine::Error(text) => Line::from(Span::styled(format!("! {text}"), theme.error())),
    }
}

/// `line` cut into rows of at most `width` columns, at spaces where it can (a word longer
/// than a row is cut), each character keeping its style.
fn wrap(line: Line<'_>, width: usize) -> Vec<Line<'static>> {
    let chars: Vec<(char, Style, usize)> = line
        .spans
        .iter()
        .flat_map(|span| {
            span.content
                .chars()
                .map(move |c| (c, span.style, Span::raw(c.to_string()).width()))
        })
        .collect();
    let mut rows = Vec::new();
    let mut start = 0;
    while start < chars.len() {
        // The most characters from `start` that fit.
        let mut end = start;
        let mut used = 0;
        while end < chars.len() && (used + chars[end].2 <= width || end == start) {
            used += chars[end].2;
            end += 1;
        }
        // Break after the last space instead, if the row is not the line's end.
        if end < chars.len()
            && let Some(space) = (start + 1..end).rev().find(|&i| chars[i - 1].0 == ' ')
        {
            end = space;
        }
        rows.push(styled_row(&chars[start..end]));
        start = end;
    }
    if rows.is_empty() {
        rows.push(Line::default());
    }
    rows
}

/// One row of characters, regrouped into spans of equal style.
fn styled_row(chars: &[(char, Style, usize)]) -> Line<'static> {
    let mut spans: Vec<Span<'static>> = Vec::new();
    for &(c, style, _) in chars {
        match spans.last_mut() {
            Some(span) if span.style == style => span.content.to_mut().push(c),
            _ => spans.push(Span::styled(c.to_string(), style)),
        }
    }
    Line::from(spans)
}

/// The input line: the text with its cursor while typing, else a hint (and any kept text).
fn input_line(frame: &mut Frame<'_>, area: Rect, state: &State, room: &Room, theme: &Theme) {
    let text = room.input.text();
    if !room.typing {
        let key = |name| state.keymap.first_key(name).unwrap_or_default();
        let hint = if room.replay.is_some() {
            Span::styled(
                format!(
                    "←/→ seek · Space: pause · {}: play/stop · {}: leave",
                    key("play"),
                    key("back")
                ),
                theme.dim(),
            )
        } else if text.is_empty() {
            Span::styled(
                format!(
                    "{}: chat · {}: play · {}: leave",
                    key("open"),
                    key("play"),
                    key("back")
                ),
                theme.dim(),
            )
        } else {
            Span::styled(format!("› {text}  ({} to go on)", key("open")), theme.dim())
        };
        frame.render_widget(Paragraph::new(hint), area);
        return;
    }
    let chars: Vec<char> = text.chars().collect();
    let cursor = room.input.cursor().min(chars.len());
    // Keep the cursor in view: show the end of a line longer than the row.
    let room_for_text = usize::from(area.width).saturating_sub(3);
    let start = (cursor + 1).saturating_sub(room_for_text);
    let before: String = chars[start..cursor].iter().collect();
    let under: String = chars.get(cursor).map_or(" ".to_owned(), char::to_string);
    let after: String = chars.iter().skip(cursor + 1).collect();
    let line = Line::from(vec![
        Span::styled("› ", theme.accent()),
        Span::raw(before),
        Span::styled(under, theme.selected()),
        Span::raw(after),
    ]);
    frame.render_widget(Paragraph::new(line), area);
}
