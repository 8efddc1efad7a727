//! Real tools the tests drive: checking they are installed, and `ffmpeg` publishing a live test
//! stream over RTMP.

use std::process::{Child, Command, Stdio};

/// Panics with the install command when `tool` (from Debian's `package`) is missing.
pub fn require_tool(tool: &str, package: &str) {
    let found = Command::new(tool)
        .arg("-version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok();
    assert!(
        found,
        "{tool} not found: run scripts/bootstrap (or: sudo apt-get install -y {package})"
    );
}

/// A real `ffmpeg` publishing a synthetic stream; killed when dropped.
pub struct FfmpegPublisher {
    child: Child,
}

impl FfmpegPublisher {
    /// Publishes `size` at `fps` (H.264 + AAC, 2 s GOP) to `url`, paced in real time, for at
    /// most `seconds`.
    pub fn start(url: &str, size: &str, fps: u32, seconds: u32) -> Self {
        Self::start_with(url, size, fps, seconds, &["-re"])
    }

    /// Like [`FfmpegPublisher::start`], with extra input options (e.g. none, to publish as
    /// fast as the encoder goes).
    pub fn start_with(
        url: &str,
        size: &str,
        fps: u32,
        seconds: u32,
        input_options: &[&str],
    ) -> Self {
        require_tool("ffmpeg", "ffmpeg");
        let video = format!("testsrc2=size={size}:rate={fps}");
        let child = Command::new("ffmpeg")
            .args(["-hide_banner", "-loglevel", "error", "-nostdin"])
            .args(input_options)
            .args(["-f", "lavfi", "-i", &video])
            .args(input_options)
            .args(["-f", "lavfi", "-i", "sine=frequency=440:sample_rate=44100"])
            .args(["-t", &seconds.to_string()])
            .args([
                "-c:v",
                "libx264",
                "-preset",
                "veryfast",
                "-tune",
                "zerolatency",
            ])
            .args(["-g", &(fps * 2).to_string(), "-b:v", "2500k"])
            .args(["-c:a", "aac", "-f", "flv", url])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start ffmpeg: {e}"));
        FfmpegPublisher { child }
    }

    /// Waits for ffmpeg to exit and returns whether it succeeded and what it said.
    pub fn wait(mut self) -> (bool, String) {
        let mut stderr = String::new();
        if let Some(mut pipe) = self.child.stderr.take() {
            use std::io::Read as _;
            let _ = pipe.read_to_string(&mut stderr);
        }
        let status = self
            .child
            .wait()
            .unwrap_or_else(|e| panic!("cannot wait for ffmpeg: {e}"));
        (status.success(), stderr)
    }
}

impl Drop for FfmpegPublisher {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
