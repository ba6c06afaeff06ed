//! Reading an episode file back, complete, cut off or damaged.
//!
//! The file is walked record by record, and nothing in it is trusted before it is checked: every
//! length is compared with the bytes that are there before anything is allocated for it, a
//! chunk's records are read only after its CRC matched, and a chunk may claim at most
//! [`MAX_CHUNK_BYTES`] uncompressed. A record that does not check out (a flipped bit, zeroed
//! bytes, a bad chunk header) is skipped by looking for the next record that does (a chunk whose
//! CRC matches, the episode's metadata, the footer), so every intact chunk after a damaged one is
//! still read. Schemas and channels lost with a damaged first chunk come back from the summary
//! section when the file is complete, else they are rebuilt from the known topics
//! ([`Topic`]): each lost channel is matched to the one topic whose messages its messages are
//! (whole as its CDR type; in a JSON episode, fitting its JSON Schema), its metadata taken from
//! the episode metadata. Metadata lost with the file's records comes
//! from the JSON sidecar beside it ([`EpisodeFile::read`]). [`repair`] writes what was recovered
//! into a complete file.

use std::collections::{BTreeMap, BTreeSet};
use std::io::BufWriter;
use std::path::{Path, PathBuf};

use mcap::records::{MessageHeader, Metadata, op};
use mcap::sans_io::{LinearReadEvent, LinearReader, LinearReaderOptions};
use mcap::{Compression, WriteOptions};
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::Error;
use super::episode::Outcome;
use super::ros2::{self, EpisodeMsg};
use super::topics::Topic;

/// The most a chunk may hold uncompressed. The recorder ends chunks at 8 MiB (plus one message);
/// a larger claim is damage, refused before anything is allocated for it.
pub const MAX_CHUNK_BYTES: u64 = 256 << 20;

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
#[derive(Debug, Clone, Default, PartialEq)]
pub struct EpisodeFile {
    pub path: PathBuf,
    pub schemas: BTreeMap<u16, StoredSchema>,
    pub channels: BTreeMap<u16, StoredChannel>,
    /// The last `episode` metadata record (the end's, if the episode was closed).
    pub metadata: BTreeMap<String, String>,
    /// In file order.
    pub messages: Vec<StoredMessage>,
    /// Why the file is not whole, in one line (`None`: the file is complete and undamaged).
    pub damage: Option<String>,
    /// Every problem found, in file order (what `damage` summarises).
    pub problems: Vec<String>,
    /// Chunks read whole (CRC checked).
    pub chunks: usize,
}

/// A little-endian cursor over untrusted bytes: every read checks that the bytes are there.
struct Bytes<'a> {
    buf: &'a [u8],
}

impl<'a> Bytes<'a> {
    fn take(&mut self, n: u64) -> Option<&'a [u8]> {
        let n = usize::try_from(n).ok().filter(|&n| n <= self.buf.len())?;
        let (head, rest) = self.buf.split_at(n);
        self.buf = rest;
        Some(head)
    }

    fn array<const N: usize>(&mut self) -> Option<[u8; N]> {
        self.take(N as u64)?.try_into().ok()
    }

    fn u16(&mut self) -> Option<u16> {
        self.array().map(u16::from_le_bytes)
    }

    fn u32(&mut self) -> Option<u32> {
        self.array().map(u32::from_le_bytes)
    }

    fn u64(&mut self) -> Option<u64> {
        self.array().map(u64::from_le_bytes)
    }

    fn string(&mut self) -> Option<String> {
        let n = self.u32()?;
        String::from_utf8(self.take(n.into())?.to_vec()).ok()
    }

    fn string_map(&mut self) -> Option<BTreeMap<String, String>> {
        let n = self.u32()?;
        let mut inner = Bytes {
            buf: self.take(n.into())?,
        };
        let mut map = BTreeMap::new();
        while !inner.buf.is_empty() {
            let key = inner.string()?;
            map.insert(key, inner.string()?);
        }
        Some(map)
    }

    /// Skips a `u32` byte length and that many bytes (a map or array MCAP does not need here),
    /// checking that it holds whole entries of `entry` bytes.
    fn skip_entries(&mut self, entry: u64) -> Option<()> {
        let n = self.u32()?;
        (u64::from(n) % entry == 0).then_some(())?;
        self.take(n.into()).map(|_| ())
    }

    fn rest(&mut self) -> &'a [u8] {
        std::mem::take(&mut self.buf)
    }

    /// `value`, if the record's body held exactly what it was parsed as.
    fn end<T>(self, value: T) -> Option<T> {
        self.buf.is_empty().then_some(value)
    }
}

/// A chunk record's header and its (compressed) records.
struct ChunkHead<'a> {
    uncompressed_size: u64,
    crc: u32,
    compression: String,
    records: &'a [u8],
}

/// One record, its body checked to be exactly what its opcode says.
enum Parsed<'a> {
    Schema(u16, StoredSchema),
    Channel(u16, StoredChannel),
    Message(StoredMessage),
    Chunk(ChunkHead<'a>),
    Metadata(String, BTreeMap<String, String>),
    Statistics(u64),
    DataEnd,
    Footer,
    /// A well-formed record this reader has no use for (header, indexes).
    Other,
}

fn opcode_name(opcode: u8) -> &'static str {
    match opcode {
        op::HEADER => "header",
        op::FOOTER => "footer",
        op::SCHEMA => "schema",
        op::CHANNEL => "channel",
        op::MESSAGE => "message",
        op::CHUNK => "chunk",
        op::MESSAGE_INDEX => "message index",
        op::CHUNK_INDEX => "chunk index",
        op::ATTACHMENT => "attachment",
        op::ATTACHMENT_INDEX => "attachment index",
        op::STATISTICS => "statistics",
        op::METADATA => "metadata",
        op::METADATA_INDEX => "metadata index",
        op::SUMMARY_OFFSET => "summary offset",
        op::DATA_END => "data end",
        _ => "unknown",
    }
}

fn parse_record(opcode: u8, body: &[u8]) -> Result<Parsed<'_>, String> {
    let mut b = Bytes { buf: body };
    let parsed = match opcode {
        op::HEADER => (|| {
            b.string()?;
            b.string()?;
            b.end(Parsed::Other)
        })(),
        op::FOOTER => (|| {
            b.u64()?;
            b.u64()?;
            b.u32()?;
            b.end(Parsed::Footer)
        })(),
        op::SCHEMA => (|| {
            let id = b.u16()?;
            let name = b.string()?;
            let encoding = b.string()?;
            let n = b.u32()?;
            let data = b.take(n.into())?.to_vec();
            b.end(Parsed::Schema(
                id,
                StoredSchema {
                    name,
                    encoding,
                    data,
                },
            ))
        })(),
        op::CHANNEL => (|| {
            let id = b.u16()?;
            let schema = b.u16()?;
            let topic = b.string()?;
            let encoding = b.string()?;
            let metadata = b.string_map()?;
            b.end(Parsed::Channel(
                id,
                StoredChannel {
                    topic,
                    schema,
                    encoding,
                    metadata,
                },
            ))
        })(),
        op::MESSAGE => (|| {
            let channel = b.u16()?;
            let sequence = b.u32()?;
            let log_time = b.u64()?;
            let publish_time = b.u64()?;
            Some(Parsed::Message(StoredMessage {
                channel,
                sequence,
                log_time,
                publish_time,
                data: b.rest().to_vec(),
            }))
        })(),
        op::CHUNK => (|| {
            b.u64()?; // message start time
            b.u64()?; // message end time
            let uncompressed_size = b.u64()?;
            let crc = b.u32()?;
            let compression = b.string()?;
            let n = b.u64()?;
            let records = b.take(n)?;
            b.end(Parsed::Chunk(ChunkHead {
                uncompressed_size,
                crc,
                compression,
                records,
            }))
        })(),
        op::MESSAGE_INDEX => (|| {
            b.u16()?;
            b.skip_entries(16)?;
            b.end(Parsed::Other)
        })(),
        op::CHUNK_INDEX => (|| {
            for _ in 0..4 {
                b.u64()?;
            }
            b.skip_entries(10)?;
            b.u64()?;
            b.string()?;
            b.u64()?;
            b.u64()?;
            b.end(Parsed::Other)
        })(),
        op::ATTACHMENT => (|| {
            b.u64()?;
            b.u64()?;
            b.string()?;
            b.string()?;
            let n = b.u64()?;
            b.take(n)?;
            b.u32()?;
            b.end(Parsed::Other)
        })(),
        op::ATTACHMENT_INDEX => (|| {
            for _ in 0..5 {
                b.u64()?;
            }
            b.string()?;
            b.string()?;
            b.end(Parsed::Other)
        })(),
        op::STATISTICS => (|| {
            let messages = b.u64()?;
            b.u16()?;
            for _ in 0..4 {
                b.u32()?;
            }
            b.u64()?;
            b.u64()?;
            b.skip_entries(10)?;
            b.end(Parsed::Statistics(messages))
        })(),
        op::METADATA => (|| {
            let name = b.string()?;
            let metadata = b.string_map()?;
            b.end(Parsed::Metadata(name, metadata))
        })(),
        op::METADATA_INDEX => (|| {
            b.u64()?;
            b.u64()?;
            b.string()?;
            b.end(Parsed::Other)
        })(),
        op::SUMMARY_OFFSET => (|| {
            b.array::<1>()?;
            b.u64()?;
            b.u64()?;
            b.end(Parsed::Other)
        })(),
        op::DATA_END => (|| {
            b.u32()?;
            b.end(Parsed::DataEnd)
        })(),
        _ => return Err(format!("opcode {opcode:#04x} is not an MCAP record")),
    };
    parsed.ok_or_else(|| format!("malformed {} record", opcode_name(opcode)))
}

/// The records inside a chunk, read only once its CRC matched. `record` is the whole chunk
/// record (opcode, length, body).
fn chunk_records(record: &[u8], head: &ChunkHead) -> Result<Vec<(u8, Vec<u8>)>, String> {
    if head.uncompressed_size > MAX_CHUNK_BYTES {
        return Err(format!(
            "chunk claims {} bytes uncompressed, more than the {MAX_CHUNK_BYTES} a chunk may hold",
            head.uncompressed_size
        ));
    }
    if !matches!(head.compression.as_str(), "" | "zstd") {
        return Err(format!(
            "chunk compression {:?} is not supported",
            truncate(&head.compression, 40)
        ));
    }
    if head.compression.is_empty() && head.records.len() as u64 != head.uncompressed_size {
        return Err("uncompressed chunk's sizes disagree".into());
    }
    let limit = (head.uncompressed_size as usize).max(head.records.len());
    let mut reader = LinearReader::new_with_options(
        LinearReaderOptions::default()
            .with_skip_start_magic(true)
            .with_skip_end_magic(true)
            .with_prevalidate_chunk_crcs(true)
            .with_record_length_limit(limit),
    );
    // The chunk opcode, then the record's length and body (its own opcode byte may be the
    // damaged one, see `chunk_despite_opcode`).
    let mut inputs = [&[op::CHUNK][..], &record[1..]];
    let mut records = Vec::new();
    while let Some(event) = reader.next_event() {
        match event.map_err(|e| format!("chunk: {e}"))? {
            LinearReadEvent::ReadRequest(need) => {
                let input = inputs.iter_mut().find(|i| !i.is_empty());
                let n = input.as_ref().map_or(0, |i| need.min(i.len()));
                if let Some(input) = input {
                    reader.insert(n).copy_from_slice(&input[..n]);
                    *input = &input[n..];
                }
                reader.notify_read(n);
            }
            LinearReadEvent::Record { data, opcode } => records.push((opcode, data.to_vec())),
        }
    }
    Ok(records)
}

/// The record at `pos`: its opcode, parsed body and where the next one starts, or why it is not
/// a whole, well-formed record. A chunk's records come with it, CRC checked.
fn record_at(bytes: &[u8], pos: usize) -> Result<Record<'_>, String> {
    record_as(bytes, pos, None)
}

/// The record at `pos` read as a chunk whatever its opcode byte says: a chunk whose only damage
/// is its opcode still proves itself by its CRC.
fn chunk_despite_opcode(bytes: &[u8], pos: usize) -> Option<Record<'_>> {
    match record_as(bytes, pos, Some(op::CHUNK)) {
        Ok(
            record @ Record {
                parsed: Parsed::Chunk(ChunkHead { crc, .. }),
                ..
            },
        ) if crc != 0 => Some(record),
        _ => None,
    }
}

fn record_as(bytes: &[u8], pos: usize, opcode: Option<u8>) -> Result<Record<'_>, String> {
    let mut b = Bytes { buf: &bytes[pos..] };
    let (Some([written]), Some(len)) = (b.array::<1>(), b.u64()) else {
        return Err(format!(
            "{} bytes left, too few for a record",
            bytes.len() - pos
        ));
    };
    let opcode = opcode.unwrap_or(written);
    let available = b.buf.len() as u64;
    let body = b.take(len).ok_or_else(|| {
        format!(
            "a {} record of {len} bytes, {available} bytes left",
            opcode_name(opcode)
        )
    })?;
    let next = pos + 9 + body.len();
    let parsed = parse_record(opcode, body)?;
    let inner = match &parsed {
        Parsed::Chunk(head) => chunk_records(&bytes[pos..next], head)?,
        _ => Vec::new(),
    };
    Ok(Record {
        parsed,
        inner,
        next,
    })
}

struct Record<'a> {
    parsed: Parsed<'a>,
    inner: Vec<(u8, Vec<u8>)>,
    next: usize,
}

/// Where reading can go on after damage at `from - 1`: the first offset holding a record that
/// proves itself (a chunk whose CRC matches, the episode's metadata, the footer before the end
/// magic), so no damaged length is ever followed.
fn resync(bytes: &[u8], from: usize) -> Option<usize> {
    (from..bytes.len()).find(|&p| match bytes[p] {
        op::CHUNK => matches!(
            record_at(bytes, p),
            Ok(Record { parsed: Parsed::Chunk(ChunkHead { crc, .. }), .. }) if crc != 0
        ),
        op::METADATA => matches!(
            record_at(bytes, p),
            Ok(Record { parsed: Parsed::Metadata(name, _), .. }) if name == "episode"
        ),
        op::FOOTER => {
            p + 9 + 20 + mcap::MAGIC.len() == bytes.len()
                && bytes.ends_with(mcap::MAGIC)
                && record_at(bytes, p).is_ok()
        }
        _ => false,
    })
}

/// `text` cut to `max` characters (with `…`), for echoing input in messages.
fn truncate(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((i, _)) => format!("{}…", &text[..i]),
        None => text.to_string(),
    }
}

/// Whether a message's bytes are CDR (the encapsulation header of either byte order).
fn is_cdr(data: &[u8]) -> bool {
    matches!(data, [0, 0 | 1, 0, 0, ..])
}

/// The one topic whose messages every sampled message is (CDR: decodes whole as its type;
/// JSON: fits its schema, keys all known, required keys all present), preferring `preferred`
/// among several.
fn identify(samples: &[&[u8]], taken: &BTreeSet<&str>, preferred: Option<Topic>) -> Option<Topic> {
    if samples.iter().all(|d| is_cdr(d)) {
        let fits = Topic::ALL
            .into_iter()
            .filter(|t| !taken.contains(t.name()))
            .filter(|t| samples.iter().all(|d| ros2::fits(*t, d)));
        return the_one(fits, preferred);
    }
    let objects: Vec<serde_json::Map<String, Value>> = samples
        .iter()
        .map(|data| match serde_json::from_slice(data) {
            Ok(Value::Object(map)) => Some(map),
            _ => None,
        })
        .collect::<Option<_>>()?;
    let fits = Topic::JSON
        .into_iter()
        .filter(|t| !taken.contains(t.name()))
        .filter(|t| {
            let schema = t.schema();
            let (Some(properties), Some(required)) = (
                schema["properties"].as_object(),
                schema["required"].as_array(),
            ) else {
                return false;
            };
            objects.iter().all(|o| {
                o.keys().all(|k| properties.contains_key(k))
                    && required
                        .iter()
                        .filter_map(Value::as_str)
                        .all(|k| o.contains_key(k))
            })
        });
    the_one(fits, preferred)
}

/// The one topic of `fits`, else `preferred` if it is among several.
fn the_one(fits: impl Iterator<Item = Topic>, preferred: Option<Topic>) -> Option<Topic> {
    match fits.collect::<Vec<_>>().as_slice() {
        [one] => Some(*one),
        [] => None,
        many => preferred.filter(|p| many.contains(p)),
    }
}

/// The channel metadata the recorder writes for `topic`, from the episode metadata.
fn channel_metadata(topic: Topic, episode: &BTreeMap<String, String>) -> BTreeMap<String, String> {
    // The episode metadata lists (name, …) per end-effector; channels list names.
    let tools = episode
        .get("end_effectors")
        .and_then(|t| serde_json::from_str::<Vec<Value>>(t).ok())
        .map(|tools| {
            let names = tools
                .iter()
                .filter_map(|t| t.as_str().or_else(|| t.get(0)?.as_str()));
            super::episode::to_json(&names.collect::<Vec<_>>())
        });
    let get = |key| episode.get(key).map(String::as_str);
    let names = [
        get("joint_names"),
        get("link_names"),
        tools.as_deref(),
        get("camera_fps"),
    ];
    super::episode::channel_metadata(topic, names)
}

impl EpisodeFile {
    /// Reads the episode at `path` (its MCAP file, or its folder); episode metadata lost with
    /// the file's records is taken from its JSON sidecar (`episode-NNNN.json`), when there is
    /// one.
    pub fn read(path: &Path) -> Result<EpisodeFile, Error> {
        let path = &mcap_in(path)?;
        let bytes = std::fs::read(path).map_err(Error::io(path))?;
        let sidecar = path.with_extension("json");
        Self::scan(&bytes, path, || {
            let text = std::fs::read(&sidecar).ok()?;
            let mut map: BTreeMap<String, String> = serde_json::from_slice(&text).ok()?;
            map.remove("file");
            Some((sidecar.display().to_string(), map))
        })
    }

    /// Parses the bytes of an episode file; `path` names it in errors.
    pub fn parse(bytes: &[u8], path: &Path) -> Result<EpisodeFile, Error> {
        Self::scan(bytes, path, || None)
    }

    fn scan(
        bytes: &[u8],
        path: &Path,
        sidecar: impl FnOnce() -> Option<(String, BTreeMap<String, String>)>,
    ) -> Result<EpisodeFile, Error> {
        if !bytes.starts_with(mcap::MAGIC) {
            return Err(Error::NotEpisode {
                path: path.to_path_buf(),
                reason: "no MCAP magic at the start".into(),
            });
        }
        let mut file = EpisodeFile {
            path: path.to_path_buf(),
            ..EpisodeFile::default()
        };
        let mut summary_schemas = BTreeMap::new();
        let mut summary_channels = BTreeMap::new();
        let mut in_summary = false;
        let mut statistics = None;
        let mut pos = mcap::MAGIC.len();
        loop {
            if pos >= bytes.len() {
                file.problems
                    .push(format!("cut off at byte {pos}: no footer or end magic"));
                break;
            }
            let record = match record_at(bytes, pos) {
                Ok(record) => record,
                Err(why) => {
                    if bytes[pos] != op::CHUNK
                        && let Some(record) = chunk_despite_opcode(bytes, pos)
                    {
                        file.problems.push(format!(
                            "byte {pos}: opcode {:#04x} damaged ({why}); read as the chunk it holds",
                            bytes[pos]
                        ));
                        record
                    } else if let Some(next) = resync(bytes, pos + 1) {
                        file.problems
                            .push(format!("bytes {pos}..{next} damaged ({why}), skipped"));
                        pos = next;
                        continue;
                    } else {
                        file.problems
                            .push(format!("cut off or damaged from byte {pos} on: {why}"));
                        break;
                    }
                }
            };
            match record.parsed {
                Parsed::Schema(id, s) if in_summary => {
                    summary_schemas.entry(id).or_insert(s);
                }
                Parsed::Channel(id, c) if in_summary => {
                    summary_channels.entry(id).or_insert(c);
                }
                Parsed::Schema(id, s) => {
                    file.schemas.entry(id).or_insert(s);
                }
                Parsed::Channel(id, c) => {
                    file.channels.entry(id).or_insert(c);
                }
                Parsed::Message(m) => file.messages.push(m),
                Parsed::Chunk(_) => {
                    file.chunks += 1;
                    file.take_chunk(pos, record.inner);
                }
                Parsed::Metadata(name, m) if name == "episode" => file.metadata = m,
                Parsed::Statistics(n) => statistics = Some(n),
                Parsed::DataEnd => in_summary = true,
                Parsed::Footer => {
                    if &bytes[record.next..] != mcap::MAGIC {
                        file.problems
                            .push(format!("no end magic right after the footer at byte {pos}"));
                    }
                    break;
                }
                Parsed::Metadata(..) | Parsed::Other => {}
            }
            pos = record.next;
        }
        if let Some(n) = statistics
            && file.problems.is_empty()
            && n != file.messages.len() as u64
        {
            file.problems.push(format!(
                "the summary counts {n} messages, {} were read",
                file.messages.len()
            ));
        }
        if file.metadata.is_empty()
            && let Some((from, metadata)) = sidecar()
        {
            file.metadata = metadata;
            file.problems
                .push(format!("episode metadata taken from {from}"));
        }
        file.restore_channels(&summary_schemas, &summary_channels);
        file.damage = match file.problems.as_slice() {
            [] => None,
            [one] => Some(one.clone()),
            [first, rest @ ..] => Some(format!(
                "{first} (and {} more problem{})",
                rest.len(),
                if rest.len() == 1 { "" } else { "s" }
            )),
        };
        Ok(file)
    }

    /// Keeps a checked chunk's schemas, channels and messages; anything else in it is damage.
    fn take_chunk(&mut self, at: usize, records: Vec<(u8, Vec<u8>)>) {
        for (index, (opcode, data)) in records.into_iter().enumerate() {
            let problem = match (opcode, parse_record(opcode, &data)) {
                (op::SCHEMA, Ok(Parsed::Schema(id, s))) => {
                    self.schemas.entry(id).or_insert(s);
                    continue;
                }
                (op::CHANNEL, Ok(Parsed::Channel(id, c))) => {
                    self.channels.entry(id).or_insert(c);
                    continue;
                }
                (op::MESSAGE, Ok(Parsed::Message(m))) => {
                    self.messages.push(m);
                    continue;
                }
                (_, Err(why)) => why,
                _ => format!(
                    "a {} record (opcode {opcode:#04x}), which a chunk cannot hold",
                    opcode_name(opcode)
                ),
            };
            self.problems
                .push(format!("chunk at byte {at}, record {index}: {problem}"));
        }
    }

    /// Defines channel `id` as the recorder does for `topic`, with its schema (CDR and
    /// `ros2msg`, or as a JSON episode had it).
    fn rebuild_channel(&mut self, id: u16, topic: Topic, cdr: bool) {
        let (name, encoding, data) = if cdr {
            let name = topic.ros_type().name;
            let text = ros2::schema(name).unwrap_or_default();
            (name.to_string(), "ros2msg", text.into_bytes())
        } else {
            let data = serde_json::to_vec(&topic.schema()).unwrap_or_default();
            (topic.schema_name().to_string(), "jsonschema", data)
        };
        let schema = match self
            .schemas
            .iter()
            .find(|(_, s)| s.name == name && s.encoding == encoding)
        {
            Some((&sid, _)) => sid,
            None => {
                let sid = (1..=u16::MAX)
                    .find(|i| !self.schemas.contains_key(i))
                    .unwrap_or(0);
                self.schemas.insert(
                    sid,
                    StoredSchema {
                        name,
                        encoding: encoding.into(),
                        data,
                    },
                );
                sid
            }
        };
        let mut metadata = channel_metadata(topic, &self.metadata);
        if cdr {
            metadata.insert("offered_qos_profiles".into(), ros2::OFFERED_QOS.to_string());
        }
        self.channels.insert(
            id,
            StoredChannel {
                topic: topic.name().into(),
                schema,
                encoding: if cdr { "cdr" } else { "json" }.into(),
                metadata,
            },
        );
    }

    /// Whether the episode is CDR-encoded (written since CDR; else a JSON episode).
    pub fn is_cdr(&self) -> bool {
        match self.channels.values().next() {
            Some(c) => c.encoding == "cdr",
            None => self.messages.first().is_some_and(|m| is_cdr(&m.data)),
        }
    }

    /// Gives every message's channel a definition: the summary's copy, else the one topic its
    /// messages fit; messages on channels that stay unknown are dropped (and said so).
    fn restore_channels(
        &mut self,
        summary_schemas: &BTreeMap<u16, StoredSchema>,
        summary_channels: &BTreeMap<u16, StoredChannel>,
    ) {
        // The summary repeats every schema and channel: whatever the data section lost.
        for (id, c) in summary_channels {
            if self.channels.contains_key(id) {
                continue;
            }
            if let Some(s) = summary_schemas.get(&c.schema) {
                self.schemas.entry(c.schema).or_insert_with(|| s.clone());
            }
            self.channels.insert(*id, c.clone());
        }
        let missing: BTreeSet<u16> = self
            .messages
            .iter()
            .map(|m| m.channel)
            .filter(|c| !self.channels.contains_key(c))
            .collect();
        let mut dropped = BTreeSet::new();
        let mut rebuilt = Vec::new();
        for id in missing {
            let samples: Vec<&[u8]> = self
                .messages
                .iter()
                .filter(|m| m.channel == id)
                .take(8)
                .map(|m| m.data.as_slice())
                .collect();
            let taken: BTreeSet<&str> = self.channels.values().map(|c| c.topic.as_str()).collect();
            let cdr = samples.iter().all(|d| is_cdr(d));
            let order: &[Topic] = if cdr { &Topic::ALL } else { &Topic::JSON };
            let index = usize::from(id).wrapping_sub(1);
            let preferred = order.get(index).or(Topic::ALL.get(index)).copied();
            let Some(topic) = identify(&samples, &taken, preferred) else {
                dropped.insert(id);
                continue;
            };
            self.rebuild_channel(id, topic, cdr);
            rebuilt.push(topic.name());
        }
        if !rebuilt.is_empty() {
            // The recorder defines every topic up front: the ones without messages come back
            // too (empty), where the writer's order puts them when that id is free.
            let cdr = self.is_cdr();
            let all: &[Topic] = if cdr { &Topic::ALL } else { &Topic::JSON };
            for (index, &topic) in all.iter().enumerate() {
                if self.channels.values().any(|c| c.topic == topic.name()) {
                    continue;
                }
                let Some(id) = u16::try_from(index + 1)
                    .ok()
                    .filter(|id| !self.channels.contains_key(id))
                    .or_else(|| (1..=u16::MAX).find(|i| !self.channels.contains_key(i)))
                else {
                    break;
                };
                self.rebuild_channel(id, topic, cdr);
            }
            self.problems.push(format!(
                "schemas and channels rebuilt from the known topics ({} matched by their messages)",
                rebuilt.join(", ")
            ));
        }
        if !dropped.is_empty() {
            let before = self.messages.len();
            self.messages.retain(|m| !dropped.contains(&m.channel));
            self.problems.push(format!(
                "{} messages on channels {dropped:?} dropped: the channels' definitions are lost",
                before - self.messages.len()
            ));
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

    /// The messages on `topic`, decoded (JSON or CDR, as its channel says).
    pub fn decode<T: EpisodeMsg>(&self, topic: Topic) -> Result<Vec<T>, Error> {
        let cdr = self
            .channel_of(topic.name())
            .and_then(|c| self.channels.get(&c))
            .is_some_and(|c| c.encoding == "cdr");
        let offset = if cdr { self.clock_offset() } else { 0 };
        self.on(topic)
            .enumerate()
            .map(|(index, m)| {
                let decoded = if cdr {
                    T::from_cdr(&m.data, m.log_time, offset).map_err(|e| e.to_string())
                } else {
                    serde_json::from_slice(&m.data).map_err(|e| e.to_string())
                };
                decoded.map_err(|error| Error::Decode {
                    path: self.path.clone(),
                    topic: topic.name().into(),
                    index,
                    error,
                })
            })
            .collect()
    }

    /// Log time minus monotonic time (ns), from the first per-tick message that carries both,
    /// else the closed episode's metadata (0 without either): what gives the standard ROS types, which carry only a stamp, their
    /// monotonic time.
    pub fn clock_offset(&self) -> i128 {
        let from = |topic: Topic| -> Option<i128> {
            let m = self.on(topic).next()?;
            let mono = match topic {
                Topic::Latency => {
                    crate::link::decode::<ros2::TickTiming>(&m.data)
                        .ok()?
                        .mono_ns
                }
                _ => crate::link::decode::<ros2::IkStep>(&m.data).ok()?.mono_ns,
            };
            Some(i128::from(m.log_time) - i128::from(mono))
        };
        from(Topic::Latency)
            .or_else(|| from(Topic::Ik))
            .or_else(|| self.metadata.get("log_minus_mono_ns")?.parse().ok())
            .unwrap_or(0)
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
            .profile(if self.is_cdr() { "ros2" } else { "" })
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
        let recording = metadata.get("outcome").is_some_and(|o| o == "recording");
        if let Some(damage) = &self.damage
            && !recording
        {
            metadata.insert("repaired".into(), damage.clone());
        }
        if !metadata.is_empty() {
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
        if recording {
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

/// The MCAP file of an episode given as its file or its folder (`episode-NNNN/`: the
/// `episode-NNNN.mcap` in it, else its one `.mcap` file).
pub fn mcap_in(path: &Path) -> Result<PathBuf, Error> {
    if !path.is_dir() {
        return Ok(path.to_path_buf());
    }
    if let Some(name) = path.file_name() {
        let own = path.join(name).with_extension("mcap");
        if own.is_file() {
            return Ok(own);
        }
    }
    let mut found: Vec<PathBuf> = std::fs::read_dir(path)
        .map_err(Error::io(path))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "mcap"))
        .collect();
    match found.len() {
        1 => Ok(found.remove(0)),
        n => Err(Error::NotEpisode {
            path: path.to_path_buf(),
            reason: format!("a folder with {n} .mcap files, not one episode"),
        }),
    }
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

/// Makes a cut-off or damaged episode file complete, in place: everything readable (every chunk
/// whose CRC matches) is rewritten into a new file that replaces it; the damaged original is kept
/// beside it as `FILE.damaged`. On an error (a full disk) the partial new file is removed.
pub fn repair(path: &Path) -> Result<Repair, Error> {
    let path = &mcap_in(path)?;
    let episode = EpisodeFile::read(path)?;
    let Some(damage) = episode.damage.clone() else {
        return Ok(Repair {
            damage: None,
            messages: episode.messages.len(),
            original: None,
        });
    };
    let tmp = path.with_extension("mcap.repairing");
    if let Err(e) = episode.write_complete(&tmp) {
        // A full disk must not leave a half-written copy behind.
        let _ = std::fs::remove_file(&tmp);
        return Err(e);
    }
    let original = path.with_extension("mcap.damaged");
    std::fs::rename(path, &original).map_err(Error::io(path))?;
    std::fs::rename(&tmp, path).map_err(Error::io(path))?;
    if episode.is_cdr() {
        // rosbag2's metadata.yaml, with what the file now holds.
        let repaired = EpisodeFile::read(path)?;
        let counts = repaired.counts();
        let times = repaired.messages.iter().map(|m| m.log_time);
        let (start, end) = (times.clone().min().unwrap_or(0), times.max().unwrap_or(0));
        super::episode::write_bag_metadata(
            path,
            start,
            end,
            |t| counts.get(t.name()).copied().unwrap_or(0) as u64,
            &repaired.metadata,
        )?;
    }
    Ok(Repair {
        damage: Some(damage),
        messages: episode.messages.len(),
        original: Some(original),
    })
}
