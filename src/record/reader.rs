//! Reading an episode file back, complete or cut off: records are read in order until the end
//! or the first damaged record (a crash mid-write), so everything in the chunks flushed before a
//! crash is recovered. [`repair`] writes what was recovered into a complete file.

use std::collections::BTreeMap;
use std::io::BufWriter;
use std::path::{Path, PathBuf};

use mcap::read::{ChunkReader, LinearReader, Options};
use mcap::records::{MessageHeader, Metadata, Record};
use mcap::{Compression, WriteOptions};
use serde::de::DeserializeOwned;

use super::Error;
use super::episode::Outcome;
use super::topics::Topic;

/// One message as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredMessage {
    pub channel: u16,
    pub sequence: u32,
    pub log_time: u64,
    pub publish_time: u64,
    pub data: Vec<u8>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct StoredChannel {
    pub topic: String,
    pub schema: u16,
    pub encoding: String,
    pub metadata: BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct StoredSchema {
    pub name: String,
    pub encoding: String,
    pub data: Vec<u8>,
}

/// Everything readable in an episode file.
#[derive(Debug, Clone, PartialEq)]
pub struct EpisodeFile {
    pub path: PathBuf,
    pub schemas: BTreeMap<u16, StoredSchema>,
    pub channels: BTreeMap<u16, StoredChannel>,
    /// The last `episode` metadata record (the end's, if the episode was closed).
    pub metadata: BTreeMap<String, String>,
    /// In file order.
    pub messages: Vec<StoredMessage>,
    /// Why reading stopped before a proper end (`None`: the file is complete).
    pub damage: Option<String>,
}

impl EpisodeFile {
    pub fn read(path: &Path) -> Result<EpisodeFile, Error> {
        let bytes = std::fs::read(path).map_err(Error::io(path))?;
        Self::parse(&bytes, path)
    }

    /// Parses the bytes of an episode file; `path` names it in errors.
    pub fn parse(bytes: &[u8], path: &Path) -> Result<EpisodeFile, Error> {
        let not_episode = |reason: String| Error::NotEpisode {
            path: path.to_path_buf(),
            reason,
        };
        if !bytes.starts_with(mcap::MAGIC) {
            return Err(not_episode("no MCAP magic at the start".into()));
        }
        let mut file = EpisodeFile {
            path: path.to_path_buf(),
            schemas: BTreeMap::new(),
            channels: BTreeMap::new(),
            metadata: BTreeMap::new(),
            messages: Vec::new(),
            damage: None,
        };
        let reader = LinearReader::new_with_options(bytes, Options::IgnoreEndMagic.into())
            .map_err(|e| not_episode(e.to_string()))?;
        let mut data_end = false;
        for record in reader {
            let record = match record {
                Ok(r) => r,
                Err(e) => {
                    file.damage = Some(format!("cut off or damaged: {e}"));
                    break;
                }
            };
            match record {
                Record::Chunk { header, data } => {
                    // Read the whole chunk first: a chunk that does not decode adds nothing.
                    let mut records = Vec::new();
                    let inner = ChunkReader::new(header, &data).and_then(|chunk| {
                        for r in chunk {
                            records.extend(owned(r?));
                        }
                        Ok(())
                    });
                    if let Err(e) = inner {
                        file.damage = Some(format!("damaged chunk: {e}"));
                        break;
                    }
                    for r in records {
                        file.take(r);
                    }
                }
                Record::DataEnd(_) => {
                    data_end = true;
                    break;
                }
                other => {
                    if let Some(r) = owned(other) {
                        file.take(r);
                    }
                }
            }
        }
        if file.damage.is_none() && !(data_end && bytes.ends_with(mcap::MAGIC)) {
            file.damage = Some("cut off: no summary or end magic".into());
        }
        Ok(file)
    }

    fn take(&mut self, record: Record<'static>) {
        match record {
            Record::Schema { header, data } => {
                self.schemas.insert(
                    header.id,
                    StoredSchema {
                        name: header.name,
                        encoding: header.encoding,
                        data: data.into_owned(),
                    },
                );
            }
            Record::Channel(c) => {
                self.channels.insert(
                    c.id,
                    StoredChannel {
                        topic: c.topic,
                        schema: c.schema_id,
                        encoding: c.message_encoding,
                        metadata: c.metadata,
                    },
                );
            }
            Record::Message { header, data } => self.messages.push(StoredMessage {
                channel: header.channel_id,
                sequence: header.sequence,
                log_time: header.log_time,
                publish_time: header.publish_time,
                data: data.into_owned(),
            }),
            Record::Metadata(m) if m.name == "episode" => self.metadata = m.metadata,
            _ => {}
        }
    }

    pub fn is_complete(&self) -> bool {
        self.damage.is_none()
    }

    fn channel_of(&self, topic: &str) -> Option<u16> {
        self.channels
            .iter()
            .find(|(_, c)| c.topic == topic)
            .map(|(id, _)| *id)
    }

    /// The stored messages on `topic`, in file order.
    pub fn on<'a>(&'a self, topic: Topic) -> impl Iterator<Item = &'a StoredMessage> + 'a {
        let channel = self.channel_of(topic.name());
        self.messages
            .iter()
            .filter(move |m| Some(m.channel) == channel)
    }

    /// The messages on `topic`, decoded.
    pub fn decode<T: DeserializeOwned>(&self, topic: Topic) -> Result<Vec<T>, Error> {
        self.on(topic)
            .enumerate()
            .map(|(index, m)| {
                serde_json::from_slice(&m.data).map_err(|error| Error::Decode {
                    path: self.path.clone(),
                    topic: topic.name().into(),
                    index,
                    error,
                })
            })
            .collect()
    }

    /// Messages per topic.
    pub fn counts(&self) -> BTreeMap<String, usize> {
        let mut counts: BTreeMap<String, usize> = self
            .channels
            .values()
            .map(|c| (c.topic.clone(), 0))
            .collect();
        for m in &self.messages {
            if let Some(c) = self.channels.get(&m.channel) {
                *counts.entry(c.topic.clone()).or_default() += 1;
            }
        }
        counts
    }

    /// A metadata value parsed as JSON (`joint_names`, …).
    pub fn metadata_json<T: DeserializeOwned>(&self, key: &str) -> Result<T, Error> {
        let text = self.metadata.get(key).ok_or_else(|| Error::Invalid {
            path: self.path.clone(),
            message: format!("episode metadata has no {key:?}"),
        })?;
        serde_json::from_str(text).map_err(|e| Error::Invalid {
            path: self.path.clone(),
            message: format!("episode metadata {key:?}: {e}"),
        })
    }

    pub fn outcome(&self) -> &str {
        self.metadata.get("outcome").map_or("", String::as_str)
    }

    /// Writes everything readable into a complete MCAP at `out`. An episode that never
    /// closed gets end metadata with outcome `interrupted`, ended at its last message.
    pub fn write_complete(&self, out: &Path) -> Result<(), Error> {
        let file = std::fs::File::create(out).map_err(Error::io(out))?;
        let mut w = WriteOptions::new()
            .compression(Some(Compression::Zstd))
            .library(format!(
                "teleop-bridge {} (repair)",
                env!("CARGO_PKG_VERSION")
            ))
            .create(BufWriter::new(file))
            .map_err(Error::mcap(out))?;
        let mut schema_ids = BTreeMap::new();
        for (id, s) in &self.schemas {
            let new = w
                .add_schema(&s.name, &s.encoding, &s.data)
                .map_err(Error::mcap(out))?;
            schema_ids.insert(*id, new);
        }
        let mut channel_ids = BTreeMap::new();
        for (id, c) in &self.channels {
            let schema = schema_ids.get(&c.schema).copied().unwrap_or(0);
            let new = w
                .add_channel(schema, &c.topic, &c.encoding, &c.metadata)
                .map_err(Error::mcap(out))?;
            channel_ids.insert(*id, new);
        }
        let mut metadata = self.metadata.clone();
        if !self.metadata.is_empty() {
            w.write_metadata(&Metadata {
                name: "episode".into(),
                metadata: metadata.clone(),
            })
            .map_err(Error::mcap(out))?;
        }
        for m in &self.messages {
            let Some(&channel_id) = channel_ids.get(&m.channel) else {
                continue;
            };
            let header = MessageHeader {
                channel_id,
                sequence: m.sequence,
                log_time: m.log_time,
                publish_time: m.publish_time,
            };
            w.write_to_known_channel(&header, &m.data)
                .map_err(Error::mcap(out))?;
        }
        if metadata.get("outcome").is_some_and(|o| o == "recording") {
            let end = self.messages.iter().map(|m| m.log_time).max().unwrap_or(0);
            metadata.insert("outcome".into(), Outcome::Interrupted.name().into());
            metadata.insert("end_wall_ns".into(), end.to_string());
            metadata.insert("end_time".into(), super::episode::rfc3339(end));
            metadata.insert("repaired".into(), self.damage.clone().unwrap_or_default());
            w.write_metadata(&Metadata {
                name: "episode".into(),
                metadata,
            })
            .map_err(Error::mcap(out))?;
        }
        w.finish().map_err(Error::mcap(out))?;
        let file = w.into_inner().into_inner().map_err(|e| Error::Io {
            path: out.to_path_buf(),
            error: e.into_error(),
        })?;
        file.sync_all().map_err(Error::io(out))
    }
}

/// The records an [`EpisodeFile`] keeps, detached from the file's bytes.
fn owned(record: Record<'_>) -> Option<Record<'static>> {
    Some(match record {
        Record::Schema { header, data } => Record::Schema {
            header,
            data: data.into_owned().into(),
        },
        Record::Message { header, data } => Record::Message {
            header,
            data: data.into_owned().into(),
        },
        Record::Channel(c) => Record::Channel(c),
        Record::Metadata(m) => Record::Metadata(m),
        _ => return None,
    })
}

/// What [`repair`] did.
#[derive(Debug, Clone, PartialEq)]
pub struct Repair {
    /// Why the file needed it (`None`: it was complete, left alone).
    pub damage: Option<String>,
    pub messages: usize,
    /// Where the damaged original was moved.
    pub original: Option<PathBuf>,
}

/// Makes a cut-off episode file complete, in place: everything readable is rewritten into a
/// new file that replaces it; the damaged original is kept beside it as `FILE.damaged`.
pub fn repair(path: &Path) -> Result<Repair, Error> {
    let episode = EpisodeFile::read(path)?;
    let Some(damage) = episode.damage.clone() else {
        return Ok(Repair {
            damage: None,
            messages: episode.messages.len(),
            original: None,
        });
    };
    let tmp = path.with_extension("mcap.repairing");
    episode.write_complete(&tmp)?;
    let original = path.with_extension("mcap.damaged");
    std::fs::rename(path, &original).map_err(Error::io(path))?;
    std::fs::rename(&tmp, path).map_err(Error::io(path))?;
    Ok(Repair {
        damage: Some(damage),
        messages: episode.messages.len(),
        original: Some(original),
    })
}
