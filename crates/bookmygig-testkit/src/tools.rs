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

/// A private certificate authority and a server certificate it signed for `localhost` and
/// `127.0.0.1` (ECDSA P-256, a day long), made by `openssl` in a directory of its own, as a host
/// with an internal authority has them.
pub struct TestCertificate {
    dir: tempfile::TempDir,
}

impl TestCertificate {
    /// Makes the authority and the server certificate with `openssl`.
    pub fn new() -> Self {
        require_tool("openssl", "openssl");
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("temp dir: {e}"));
        let path = |name: &str| dir.path().join(name);
        let extensions = "subjectAltName=IP:127.0.0.1,DNS:localhost\n\
                          basicConstraints=critical,CA:FALSE\n\
                          keyUsage=critical,digitalSignature\n\
                          extendedKeyUsage=serverAuth\n";
        std::fs::write(path("server.ext"), extensions)
            .unwrap_or_else(|e| panic!("write server.ext: {e}"));
        let ec = [
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
        ];
        openssl(|c| {
            c.args(["req", "-x509"]).args(ec).args(["-days", "1"]);
            c.args(["-subj", "/CN=BookMyGig Test CA", "-keyout"]);
            c.arg(path("ca-key.pem")).arg("-out").arg(path("ca.pem"));
        });
        openssl(|c| {
            c.args(["req", "-new"])
                .args(ec)
                .args(["-subj", "/CN=localhost"]);
            c.arg("-keyout").arg(path("key.pem"));
            c.arg("-out").arg(path("server.csr"));
        });
        openssl(|c| {
            c.args(["x509", "-req", "-days", "1", "-in"])
                .arg(path("server.csr"));
            c.arg("-CA")
                .arg(path("ca.pem"))
                .arg("-CAkey")
                .arg(path("ca-key.pem"));
            c.arg("-CAcreateserial")
                .arg("-extfile")
                .arg(path("server.ext"));
            c.arg("-out").arg(path("cert.pem"));
        });
        TestCertificate { dir }
    }

    /// The server's certificate (PEM): `--tls-cert`.
    pub fn cert_path(&self) -> std::path::PathBuf {
        self.dir.path().join("cert.pem")
    }

    /// The server's private key (PEM): `--tls-key`.
    pub fn key_path(&self) -> std::path::PathBuf {
        self.dir.path().join("key.pem")
    }

    /// The authority's certificate (PEM), which clients trust (`--cacert`, `-ca_file`).
    pub fn ca_path(&self) -> std::path::PathBuf {
        self.dir.path().join("ca.pem")
    }

    /// The authority's PEM text.
    pub fn ca_pem(&self) -> Vec<u8> {
        std::fs::read(self.ca_path()).unwrap_or_else(|e| panic!("read ca.pem: {e}"))
    }
}

impl Default for TestCertificate {
    fn default() -> Self {
        Self::new()
    }
}

/// Runs `openssl` with the arguments `build` adds, panicking with its stderr on failure.
fn openssl(build: impl FnOnce(&mut Command)) {
    let mut command = Command::new("openssl");
    build(&mut command);
    let output = command
        .output()
        .unwrap_or_else(|e| panic!("cannot run openssl: {e}"));
    assert!(
        output.status.success(),
        "{command:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}
