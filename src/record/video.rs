//! Camera frames to MP4 through FFmpeg (the `ffmpeg` program, fed raw RGB frames on its
//! standard input): AV1 with SVT-AV1 as LeRobot encodes by default, else H.264 with x264.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};

use super::Error;

/// The video codec an export uses, and how FFmpeg is told to encode with it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Codec {
    /// `libsvtav1 -pix_fmt yuv420p -g 2 -crf 30`: LeRobot's default settings (SVT-AV1's own
    /// default preset, as LeRobot sets none).
    Av1,
    /// `libx264 -pix_fmt yuv420p -g 2 -crf 23` where FFmpeg has no SVT-AV1.
    H264,
}

impl Codec {
    /// The codec's name as LeRobot's `video.codec` has it (PyAV's canonical name).
    pub fn name(self) -> &'static str {
        match self {
            Codec::Av1 => "av1",
            Codec::H264 => "h264",
        }
    }

    /// The FFmpeg encoder.
    pub fn encoder(self) -> &'static str {
        match self {
            Codec::Av1 => "libsvtav1",
            Codec::H264 => "libx264",
        }
    }

    /// The encoder's options after `-pix_fmt yuv420p`.
    pub fn options(self) -> &'static [&'static str] {
        match self {
            Codec::Av1 => &["-g", "2", "-crf", "30"],
            Codec::H264 => &["-g", "2", "-crf", "23"],
        }
    }
}

/// The codec `ffmpeg` can encode with, or why there is none (one line, naming the program).
pub fn find_codec(ffmpeg: &Path) -> Result<Codec, String> {
    let out = Command::new(ffmpeg)
        .args(["-hide_banner", "-encoders"])
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run {}: {e}", ffmpeg.display()))?;
    if !out.status.success() {
        return Err(format!(
            "{} -encoders failed: {}",
            ffmpeg.display(),
            last_line(&out.stderr)
        ));
    }
    let listed = String::from_utf8_lossy(&out.stdout);
    let has = |name: &str| {
        listed
            .lines()
            .any(|l| l.split_whitespace().nth(1) == Some(name))
    };
    if has("libsvtav1") {
        Ok(Codec::Av1)
    } else if has("libx264") {
        Ok(Codec::H264)
    } else {
        Err(format!(
            "{} has neither libsvtav1 nor libx264",
            ffmpeg.display()
        ))
    }
}

fn last_line(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes)
        .lines()
        .map(str::trim)
        .rfind(|l| !l.is_empty())
        .unwrap_or("no message")
        .to_string()
}

/// One MP4 being written: frames go to FFmpeg's standard input as they come.
pub struct Encoder {
    path: PathBuf,
    child: Child,
    stdin: Option<ChildStdin>,
    stderr: Option<std::thread::JoinHandle<Vec<u8>>>,
    frame_bytes: usize,
}

impl Encoder {
    /// Starts FFmpeg writing `path` from `size` (width, height) RGB frames at `fps`.
    pub fn start(
        ffmpeg: &Path,
        codec: Codec,
        path: &Path,
        size: (u32, u32),
        fps: u32,
    ) -> Result<Encoder, Error> {
        let invalid = |message: String| Error::Invalid {
            path: path.to_path_buf(),
            message,
        };
        let (w, h) = size;
        if w == 0 || h == 0 || w % 2 == 1 || h % 2 == 1 {
            return Err(invalid(format!(
                "camera frames of {w}x{h}: 4:2:0 video needs an even width and height \
                 (export with --images parquet instead)"
            )));
        }
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(Error::io(parent))?;
        }
        let mut child = Command::new(ffmpeg)
            .args(["-hide_banner", "-nostdin", "-loglevel", "error"])
            .args(["-f", "rawvideo", "-pix_fmt", "rgb24"])
            .args(["-s", &format!("{w}x{h}"), "-r", &fps.to_string(), "-i", "-"])
            .args(["-c:v", codec.encoder(), "-pix_fmt", "yuv420p"])
            .args(codec.options())
            .args(["-an", "-f", "mp4", "-y"])
            .arg(path)
            // SVT-AV1 logs its configuration unless told errors only.
            .env("SVT_LOG", "1")
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| invalid(format!("cannot run {}: {e}", ffmpeg.display())))?;
        let stdin = child.stdin.take();
        let stderr = child.stderr.take().map(|mut s| {
            std::thread::spawn(move || {
                let mut buf = Vec::new();
                let _ = s.read_to_end(&mut buf);
                buf
            })
        });
        Ok(Encoder {
            path: path.to_path_buf(),
            child,
            stdin,
            stderr,
            frame_bytes: w as usize * h as usize * 3,
        })
    }

    /// One RGB frame (row-major, 3 bytes a pixel, the size given to [`start`](Self::start)).
    pub fn write(&mut self, rgb: &[u8]) -> Result<(), Error> {
        if rgb.len() != self.frame_bytes {
            return Err(Error::Invalid {
                path: self.path.clone(),
                message: format!(
                    "a frame of {} bytes where the video's size takes {}",
                    rgb.len(),
                    self.frame_bytes
                ),
            });
        }
        if self
            .stdin
            .as_mut()
            .is_none_or(|s| s.write_all(rgb).is_err())
        {
            // FFmpeg stopped reading: its own message says why.
            self.stdin = None;
            let status = self.child.wait();
            return Err(self.failed(status.map_or_else(|e| e.to_string(), |s| s.to_string())));
        }
        Ok(())
    }

    /// FFmpeg ended with `status`: its last line of error output says why.
    fn failed(&mut self, status: String) -> Error {
        let stderr = self
            .stderr
            .take()
            .and_then(|t| t.join().ok())
            .unwrap_or_default();
        Error::Invalid {
            path: self.path.clone(),
            message: format!("ffmpeg failed ({status}): {}", last_line(&stderr)),
        }
    }

    /// Ends the stream and waits for FFmpeg to finish the file.
    pub fn finish(mut self) -> Result<(), Error> {
        self.stdin = None;
        let status = self.child.wait().map_err(Error::io(&self.path))?;
        if !status.success() {
            return Err(self.failed(status.to_string()));
        }
        Ok(())
    }
}

impl Drop for Encoder {
    fn drop(&mut self) {
        // An encoder dropped on an error path: stop FFmpeg rather than leave it running.
        if self.stdin.take().is_some() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}
