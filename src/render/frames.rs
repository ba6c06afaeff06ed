//! PNG frames on a writer thread, so encoding never slows the thread that renders.

use std::path::{Path, PathBuf};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::thread::JoinHandle;

use super::{Error, StereoImage};

/// Images waiting to be encoded; more than this and new ones are dropped (and counted).
const QUEUE: usize = 4;

/// Writes `frame_000123.png` files into a folder from a background thread.
#[derive(Debug)]
pub struct FrameWriter {
    sender: Option<SyncSender<(u64, StereoImage)>>,
    thread: Option<JoinHandle<Result<u64, Error>>>,
    pub dropped: u64,
    dir: PathBuf,
}

impl FrameWriter {
    /// Creates `dir` if needed and starts the writer.
    pub fn new(dir: &Path) -> Result<FrameWriter, Error> {
        std::fs::create_dir_all(dir).map_err(|error| Error::Folder {
            path: dir.to_owned(),
            error,
        })?;
        let (sender, receiver) = sync_channel(QUEUE);
        let folder = dir.to_owned();
        let thread = std::thread::Builder::new()
            .name("png-writer".into())
            .spawn(move || {
                // PNGs can wait; the control loop cannot.
                crate::rt::priority::lower_for_background();
                write_all(&folder, receiver)
            })
            .map_err(|error| Error::Folder {
                path: dir.to_owned(),
                error,
            })?;
        Ok(FrameWriter {
            sender: Some(sender),
            thread: Some(thread),
            dropped: 0,
            dir: dir.to_owned(),
        })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Queues frame number `index`; never waits (a full queue drops it).
    pub fn push(&mut self, index: u64, image: StereoImage) {
        if let Some(sender) = &self.sender
            && sender.try_send((index, image)).is_err()
        {
            self.dropped += 1;
        }
    }

    /// Waits for the queue to drain; the number of files written, or the first write error.
    pub fn finish(mut self) -> Result<u64, Error> {
        self.sender = None;
        match self.thread.take().map(JoinHandle::join) {
            Some(Ok(result)) => result,
            Some(Err(_)) => Err(Error::Png {
                path: self.dir.clone(),
                message: "the PNG writer thread panicked".into(),
            }),
            None => Ok(0),
        }
    }
}

fn write_all(dir: &Path, receiver: Receiver<(u64, StereoImage)>) -> Result<u64, Error> {
    let mut written = 0;
    for (index, image) in receiver {
        image.save_png(&dir.join(format!("frame_{index:06}.png")))?;
        written += 1;
    }
    Ok(written)
}
