//! The robot's cameras on the station: a Zenoh session of its own (so a 100 kB JPEG never
//! queues in front of a joint command on the control session's link) subscribes to the robot
//! process's two `CompressedImage` topics; a decode thread at background priority pairs the
//! eyes by stamp, decodes them and hands the side-by-side frame to the window or headset
//! ([`FrameCell`], newest wins), the PNG writer and the recorder. Nothing here touches the
//! control thread.

use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use super::Error;
use super::robot_process::CAMERA_TOPICS;
use crate::link::bus::{Bus, Subscription};
use crate::link::names::{Qos, robot_namespace};
use crate::link::types::CompressedImage;
use crate::msg::{CameraFrame, ImageSink};
use crate::render::{FrameCell, FrameWriter, StereoImage};
use crate::robot::Connection;
use crate::rt::{Histogram, lock};

/// The station's node for its camera session.
const NODE: &str = "teleop_station_camera";

/// Where decoded frames go besides the cell.
pub struct Outputs {
    /// Side-by-side PNGs, one per received stereo frame.
    pub png: Option<FrameWriter>,
    /// The recorder's camera; frames carry session time: the robot's stamp less `epoch_wall_ns`
    /// (the wall clock when the session's monotonic clock read 0).
    pub recorder: Option<(Box<dyn ImageSink>, u64)>,
}

/// The newest JPEG of each eye, not yet decoded.
#[derive(Default)]
struct Inbox {
    eyes: [Option<(u64, Vec<u8>)>; 2],
    /// JPEGs that arrived (both eyes), and those replaced before they were decoded.
    arrived: u64,
    superseded: u64,
    bad: u64,
    done: bool,
}

/// The subscription and its decode thread (see the module docs).
pub struct CameraFeed {
    cell: Arc<FrameCell>,
    inbox: Arc<(Mutex<Inbox>, Condvar)>,
    thread: Option<JoinHandle<Result<Decoded, Error>>>,
    _subscriptions: Vec<Subscription>,
    // Last: the session outlives its subscriptions.
    _bus: Bus,
}

/// What the decode thread did.
#[derive(Default)]
struct Decoded {
    frames: u64,
    size: Option<(u32, u32)>,
    /// Image age when decoded: the robot's stamp (the state it shows) to the decoded frame.
    age: Histogram,
    png: Option<String>,
    recorded: u64,
    failed: u64,
}

impl CameraFeed {
    /// Subscribes to the cameras of the robot `connection` names.
    pub fn start(connection: &Connection, outputs: Outputs) -> Result<CameraFeed, Error> {
        let bus = Bus::open(
            &connection.endpoints,
            &robot_namespace(&connection.robot),
            NODE,
        )?;
        let inbox = Arc::new((Mutex::new(Inbox::default()), Condvar::new()));
        let mut subscriptions = Vec::new();
        for (eye, topic) in CAMERA_TOPICS.iter().enumerate() {
            let inbox = Arc::clone(&inbox);
            subscriptions.push(bus.subscribe::<CompressedImage, _>(
                topic,
                Qos::best_effort(1),
                move |got| {
                    let (slot, wake) = &*inbox;
                    let mut slot = lock(slot);
                    match got {
                        Ok(r) => {
                            slot.arrived += 1;
                            let stamp = r.message.header.stamp.to_ns();
                            if slot.eyes[eye].replace((stamp, r.message.data)).is_some() {
                                slot.superseded += 1;
                            }
                            wake.notify_one();
                        }
                        Err(_) => slot.bad += 1,
                    }
                },
            )?);
        }
        let cell = Arc::new(FrameCell::default());
        let thread = {
            let inbox = Arc::clone(&inbox);
            let cell = Arc::clone(&cell);
            std::thread::Builder::new()
                .name("camera-decode".into())
                .spawn(move || {
                    crate::rt::priority::lower_for_background();
                    decode_loop(&inbox, &cell, outputs)
                })
                .map_err(|e| Error::Thread(format!("camera decode thread: {e}")))?
        };
        Ok(CameraFeed {
            cell,
            inbox,
            thread: Some(thread),
            _subscriptions: subscriptions,
            _bus: bus,
        })
    }

    /// The newest decoded frame, for the window or the headset.
    pub fn cell(&self) -> Arc<FrameCell> {
        Arc::clone(&self.cell)
    }

    /// Stops decoding; what arrived and what became of it, in one line.
    pub fn finish(mut self) -> Result<String, Error> {
        {
            let (slot, wake) = &*self.inbox;
            lock(slot).done = true;
            wake.notify_all();
        }
        let decoded = match self.thread.take().map(JoinHandle::join) {
            Some(Ok(result)) => result?,
            _ => return Err(Error::Thread("the camera decode thread panicked".into())),
        };
        let (arrived, superseded, bad) = {
            let slot = lock(&self.inbox.0);
            (slot.arrived, slot.superseded, slot.bad)
        };
        Ok(decoded.line(arrived, superseded, bad))
    }
}

impl Decoded {
    fn line(&self, arrived: u64, superseded: u64, bad: u64) -> String {
        let Some((w, h)) = self.size else {
            return format!(
                "no camera image from the robot ({arrived} JPEGs arrived, {bad} undecodable; is its camera on?)"
            );
        };
        let ms = |p| self.age.percentile(p) as f64 / 1e6;
        let mut line = format!(
            "{} stereo images from the robot's camera ({w}×{h} per eye), age when decoded p50 {:.0} ms, p99 {:.0} ms",
            self.frames,
            ms(50.0),
            ms(99.0)
        );
        if superseded + self.failed + bad > 0 {
            line += &format!(
                "; {superseded} superseded before decoding, {} undecodable",
                self.failed + bad
            );
        }
        if let Some(png) = &self.png {
            line += &format!("; {png}");
        }
        if self.recorded > 0 {
            line += &format!("; {} to the recorder", self.recorded);
        }
        line
    }
}

/// Waits for a stereo pair with one stamp, decodes it, hands it on; until told to stop.
fn decode_loop(
    inbox: &(Mutex<Inbox>, Condvar),
    cell: &FrameCell,
    mut outputs: Outputs,
) -> Result<Decoded, Error> {
    let mut decoded = Decoded::default();
    let mut jpegs: [Vec<u8>; 2] = Default::default();
    let mut rgb: [Vec<u8>; 2] = Default::default();
    let mut frame = CameraFrame::default();
    let mut last_stamp = 0;
    loop {
        let stamp = {
            let (slot, wake) = inbox;
            let mut slot = lock(slot);
            loop {
                if slot.done {
                    break None;
                }
                if let [Some((left, _)), Some((right, _))] = &slot.eyes
                    && left == right
                    && *left > last_stamp
                {
                    let stamp = *left;
                    for (eye, jpeg) in jpegs.iter_mut().enumerate() {
                        if let Some((_, data)) = slot.eyes[eye].take() {
                            *jpeg = data;
                        }
                    }
                    break Some(stamp);
                }
                slot = wake
                    .wait_timeout(slot, Duration::from_millis(100))
                    .unwrap_or_else(|e| e.into_inner())
                    .0;
            }
        };
        let Some(stamp) = stamp else { break };
        last_stamp = stamp;
        let size = match (
            decode(&jpegs[0], &mut rgb[0]),
            decode(&jpegs[1], &mut rgb[1]),
        ) {
            (Ok(left), Ok(right)) if left == right => left,
            (left, right) => {
                // Undecodable, or the eyes' sizes differ.
                if let Err(e) = left.and(right) {
                    tracing::debug!("camera image: {e}");
                }
                decoded.failed += 1;
                continue;
            }
        };
        side_by_side(&rgb, size, stamp, &mut frame);
        decoded
            .age
            .record(crate::rt::wall_clock_ns().saturating_sub(stamp));
        decoded.frames += 1;
        decoded.size = Some(size);
        if let Some(writer) = &mut outputs.png {
            writer.push(
                decoded.frames - 1,
                StereoImage {
                    width: frame.width,
                    height: frame.height,
                    rgba: frame.rgba.clone(),
                },
            );
        }
        if let Some((recorder, epoch_wall_ns)) = &mut outputs.recorder {
            let time_ns = stamp.saturating_sub(*epoch_wall_ns);
            if recorder.wants(time_ns) {
                let copy = CameraFrame {
                    time_ns,
                    ..frame.clone()
                };
                if recorder.offer(copy) {
                    decoded.recorded += 1;
                }
            }
        }
        cell.publish(&mut frame);
    }
    if let Some(writer) = outputs.png {
        let dir = writer.dir().display().to_string();
        let dropped = writer.dropped;
        let written = writer.finish()?;
        decoded.png = Some(format!(
            "{written} stereo PNGs in {dir} ({dropped} dropped)"
        ));
    }
    Ok(decoded)
}

/// Decodes one JPEG into `rgb` (RGB8); its size.
fn decode(jpeg: &[u8], rgb: &mut Vec<u8>) -> Result<(u32, u32), String> {
    use image::ImageDecoder;
    let decoder = image::codecs::jpeg::JpegDecoder::new(std::io::Cursor::new(jpeg))
        .map_err(|e| e.to_string())?;
    let (w, h) = decoder.dimensions();
    let channels = match decoder.color_type() {
        image::ColorType::Rgb8 => 3,
        image::ColorType::L8 => 1,
        other => return Err(format!("unexpected JPEG colour type {other:?}")),
    };
    let n = (w * h) as usize * channels;
    rgb.resize(n, 0);
    decoder
        .read_image(&mut rgb[..n])
        .map_err(|e| e.to_string())?;
    if channels == 1 {
        let gray = std::mem::take(rgb);
        rgb.extend(gray.iter().flat_map(|&l| [l, l, l]));
    }
    Ok((w, h))
}

/// Puts the two eyes' RGB images side by side into `frame` (RGBA).
fn side_by_side(rgb: &[Vec<u8>; 2], (w, h): (u32, u32), stamp: u64, frame: &mut CameraFrame) {
    frame.time_ns = stamp;
    frame.width = 2 * w;
    frame.height = h;
    frame.rgba.clear();
    let row = w as usize * 3;
    for y in 0..h as usize {
        for eye in rgb {
            let pixels = &eye[y * row..(y + 1) * row];
            frame
                .rgba
                .extend(pixels.chunks_exact(3).flat_map(|p| [p[0], p[1], p[2], 255]));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn eyes_go_side_by_side_left_first() {
        let left = vec![10; 2 * 3];
        let right = vec![20; 2 * 3];
        let mut frame = CameraFrame::default();
        side_by_side(&[left, right], (2, 1), 7, &mut frame);
        assert_eq!((frame.width, frame.height, frame.time_ns), (4, 1, 7));
        let reds: Vec<u8> = frame.rgba.chunks(4).map(|p| p[0]).collect();
        assert_eq!(reds, [10, 10, 20, 20]);
    }

    #[test]
    fn a_jpeg_decodes_to_its_size_and_garbage_is_an_error() {
        let mut jpeg = Vec::new();
        image::codecs::jpeg::JpegEncoder::new_with_quality(&mut jpeg, 90)
            .encode(&[200; 8 * 4 * 3], 8, 4, image::ExtendedColorType::Rgb8)
            .expect("encodes");
        let mut rgb = Vec::new();
        assert_eq!(decode(&jpeg, &mut rgb), Ok((8, 4)));
        assert_eq!(rgb.len(), 8 * 4 * 3);
        assert!(rgb.iter().all(|&v| v.abs_diff(200) < 8), "colour kept");
        assert!(decode(&jpeg[..jpeg.len() / 2], &mut rgb).is_err());
        assert!(decode(b"not a jpeg", &mut rgb).is_err());
    }

    #[test]
    fn nothing_received_says_so() {
        let decoded = Decoded::default();
        assert!(decoded.line(0, 0, 0).contains("no camera image"));
    }
}
