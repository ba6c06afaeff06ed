//! Damaged episode files: a flipped bit, zeroed bytes or a bad chunk header lose at most the
//! chunk they hit. Readers (`record info`, replay, export) and `record repair` keep every chunk
//! whose CRC matches, before and after the damage, the first chunk (schemas and channels)
//! included; nothing panics or allocates what a damaged length claims.
//!
//! The fixture `tests/fixtures/episode/` is a real recording: `teleop demo --script
//! tests/fixtures/short_script.toml --record DIR --no-camera` (7,005 messages in 69 chunks).

use std::path::{Path, PathBuf};
use std::process::Command;

use teleop_bridge::record::topics::JointStateMsg;
use teleop_bridge::record::{self, EpisodeFile, Topic};

pub fn fixture_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/episode")
}

pub fn fixture_bytes() -> Vec<u8> {
    std::fs::read(fixture_dir().join("episode-0000.mcap")).expect("fixture episode")
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "teleop-episode-damage-{}-{name}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch folder");
    dir
}

/// A top-level record of the intact fixture: where it starts, its opcode, where the next starts.
#[derive(Debug, Clone, Copy)]
pub struct Span {
    pub start: usize,
    pub opcode: u8,
    pub end: usize,
}

/// The intact file's top-level records, up to and including the footer.
pub fn records(bytes: &[u8]) -> Vec<Span> {
    let mut out = Vec::new();
    let mut pos = 8;
    while pos + 9 <= bytes.len() {
        let opcode = bytes[pos];
        let len = u64::from_le_bytes(bytes[pos + 1..pos + 9].try_into().unwrap()) as usize;
        let end = pos + 9 + len;
        out.push(Span {
            start: pos,
            opcode,
            end,
        });
        if opcode == 0x02 {
            break;
        }
        pos = end;
    }
    out
}

/// The chunks of the intact file and how many messages each holds (read with the mcap crate).
fn chunks(bytes: &[u8]) -> Vec<(Span, usize)> {
    records(bytes)
        .into_iter()
        .filter(|s| s.opcode == 0x06)
        .map(|span| {
            let record = mcap::parse_record(0x06, &bytes[span.start + 9..span.end]).unwrap();
            let mcap::records::Record::Chunk { header, data } = record else {
                panic!("a chunk")
            };
            let messages = mcap::read::ChunkReader::new(header, &data)
                .unwrap()
                .filter(|r| matches!(r, Ok(mcap::records::Record::Message { .. })))
                .count();
            (span, messages)
        })
        .collect()
}

/// A way to damage a file's bytes.
type Damage = Box<dyn Fn(&mut Vec<u8>)>;

fn parse(bytes: &[u8]) -> EpisodeFile {
    EpisodeFile::parse(bytes, Path::new("damaged.mcap")).unwrap_or_else(|e| panic!("{e}"))
}

/// Every topic a recording has, with its schema, and the joint states decode.
fn assert_whole_channels(episode: &EpisodeFile) {
    for topic in Topic::JSON {
        assert!(
            episode.channels.values().any(|c| c.topic == topic.name()),
            "{} missing: {:?}",
            topic.name(),
            episode.channels
        );
    }
    for c in episode.channels.values() {
        assert!(episode.schemas.contains_key(&c.schema), "{c:?}");
    }
    let states: Vec<JointStateMsg> = episode.decode(Topic::JointState).unwrap();
    assert!(states.iter().all(|s| s.position.len() == 20));
}

#[test]
fn the_intact_fixture_reads_complete() {
    let bytes = fixture_bytes();
    let episode = parse(&bytes);
    assert!(episode.is_complete(), "{:?}", episode.problems);
    assert_eq!(episode.messages.len(), 7005);
    let chunks = chunks(&bytes);
    assert_eq!(episode.chunks, chunks.len());
    assert_eq!(
        chunks.iter().map(|c| c.1).sum::<usize>(),
        episode.messages.len()
    );
    assert_whole_channels(&episode);
}

/// The tester's crash: one flipped bit in a chunk's compressed data made every reader allocate
/// what a garbage length inside it claimed. Now only that chunk is lost, wherever the bit is.
#[test]
fn a_flipped_bit_in_any_chunk_loses_only_that_chunk() {
    let bytes = fixture_bytes();
    let chunks = chunks(&bytes);
    let total: usize = chunks.iter().map(|c| c.1).sum();
    for (index, &(span, messages)) in chunks.iter().enumerate().step_by(7) {
        // Several places in the chunk: its header fields, the middle and the end of its data.
        for at in [
            span.start + 9 + 20,
            span.start + 9 + 30,
            (span.start + span.end) / 2,
            span.end - 2,
        ] {
            for bit in [0, 3, 7] {
                let mut damaged = bytes.clone();
                damaged[at] ^= 1 << bit;
                let episode = parse(&damaged);
                assert!(
                    episode.damage.is_some(),
                    "chunk {index}, byte {at}, bit {bit}"
                );
                assert_eq!(
                    episode.messages.len(),
                    total - messages,
                    "chunk {index}, byte {at}, bit {bit}: {:?}",
                    episode.problems
                );
                assert_whole_channels(&episode);
            }
        }
    }
}

#[test]
fn zeroed_first_chunk_keeps_every_message_and_rebuilds_schemas_and_channels() {
    let bytes = fixture_bytes();
    let (first, messages) = chunks(&bytes)[0];
    assert_eq!(
        messages, 0,
        "the first chunk holds the schemas and channels"
    );
    let mut damaged = bytes.clone();
    damaged[first.start..first.end].fill(0);
    let episode = parse(&damaged);
    assert!(episode.damage.is_some());
    assert_eq!(episode.messages.len(), 7005, "{:?}", episode.problems);
    assert_whole_channels(&episode);
    // The channel metadata comes back from the episode metadata.
    let state = episode
        .channels
        .values()
        .find(|c| c.topic == "/joint_state")
        .unwrap();
    assert!(state.metadata["joint_names"].contains("left_elbow_joint"));

    // The tester's exact damage: bytes 44..2587 zeroed (the first chunk, and the start of what
    // follows it in their file).
    let mut damaged = bytes.clone();
    let end = 2587.min(damaged.len());
    damaged[44..end].fill(0);
    let lost: usize = chunks(&bytes)
        .iter()
        .filter(|(s, _)| s.start < end && s.end > 44)
        .map(|c| c.1)
        .sum();
    let episode = parse(&damaged);
    assert_eq!(
        episode.messages.len(),
        7005 - lost,
        "{:?}",
        episode.problems
    );
    assert_whole_channels(&episode);
}

#[test]
fn bad_chunk_headers_lose_only_their_chunk() {
    let bytes = fixture_bytes();
    let chunks = chunks(&bytes);
    let (span, messages) = chunks[chunks.len() / 2];
    let set_u64 =
        |b: &mut Vec<u8>, at: usize, v: u64| b[at..at + 8].copy_from_slice(&v.to_le_bytes());
    let header = span.start + 9;
    let cases: Vec<(&str, Damage)> = vec![
        (
            "record length huge",
            Box::new(move |b| set_u64(b, span.start + 1, u64::MAX / 3)),
        ),
        (
            "record length short",
            Box::new(move |b| set_u64(b, span.start + 1, 40)),
        ),
        (
            "record length one too long",
            Box::new(move |b| set_u64(b, span.start + 1, (span.end - header + 1) as u64)),
        ),
        (
            "uncompressed size huge",
            Box::new(move |b| set_u64(b, header + 16, 3_615_880_517_254_395_193)),
        ),
        (
            "uncompressed size a little larger",
            Box::new(move |b| {
                let v = u64::from_le_bytes(b[header + 16..header + 24].try_into().unwrap());
                set_u64(b, header + 16, v + 1000);
            }),
        ),
        (
            "compression string length",
            Box::new(move |b| b[header + 28] = 0xff),
        ),
        ("crc", Box::new(move |b| b[header + 24] ^= 0x10)),
        (
            "header zeroed",
            Box::new(move |b| b[span.start..header + 50].fill(0)),
        ),
    ];
    // A chunk whose only damage is its opcode byte still proves itself by its CRC: kept.
    for opcode in [0x00, 0x86, 0x07, 0x0c] {
        let mut damaged = bytes.clone();
        damaged[span.start] = opcode;
        let episode = parse(&damaged);
        assert!(episode.damage.is_some(), "opcode {opcode}");
        assert_eq!(
            episode.messages.len(),
            7005,
            "opcode {opcode}: {:?}",
            episode.problems
        );
    }
    for (what, damage) in cases {
        let mut damaged = bytes.clone();
        damage(&mut damaged);
        let episode = parse(&damaged);
        assert!(episode.damage.is_some(), "{what}");
        assert_eq!(
            episode.messages.len(),
            7005 - messages,
            "{what}: {:?}",
            episode.problems
        );
    }
}

#[test]
fn a_cut_off_file_keeps_its_whole_chunks() {
    let bytes = fixture_bytes();
    let chunks = chunks(&bytes);
    let (cut_in, _) = chunks[10];
    let cut = &bytes[..(cut_in.start + cut_in.end) / 2];
    let episode = parse(cut);
    let before: usize = chunks[..10].iter().map(|c| c.1).sum();
    assert_eq!(episode.messages.len(), before, "{:?}", episode.problems);
    assert!(episode.damage.as_deref().unwrap().contains("cut off"));
}

/// The acceptance test of the issue: on a damaged episode, `repair` keeps every CRC-valid
/// chunk, for byte flips, zeroed chunks and bad chunk headers, the first chunk included; the
/// repaired file reads complete with the mcap crate too.
#[test]
fn repair_keeps_every_crc_valid_chunk() {
    let bytes = fixture_bytes();
    let chunks = chunks(&bytes);
    let middle = chunks.len() / 2;
    let cases: Vec<(&str, Vec<usize>, Damage)> = vec![
        ("flipped bit in the first chunk", vec![0], {
            let s = chunks[0].0;
            Box::new(move |b| b[(s.start + s.end) / 2] ^= 0x04)
        }),
        ("zeroed first chunk", vec![0], {
            let s = chunks[0].0;
            Box::new(move |b| b[s.start..s.end].fill(0))
        }),
        ("flipped bits in two chunks", vec![3, middle], {
            let (a, m) = (chunks[3].0, chunks[middle].0);
            Box::new(move |b| {
                b[(a.start + a.end) / 2] ^= 0x80;
                b[(m.start + m.end) / 2] ^= 0x01;
            })
        }),
        ("bad chunk header", vec![middle], {
            let s = chunks[middle].0;
            Box::new(move |b| b[s.start + 1..s.start + 9].fill(0xff))
        }),
        ("zeroed last chunk", vec![chunks.len() - 1], {
            let s = chunks[chunks.len() - 1].0;
            Box::new(move |b| b[s.start..s.end].fill(0))
        }),
    ];
    let dir = scratch("repair");
    for (i, (what, lost_chunks, damage)) in cases.into_iter().enumerate() {
        let mut damaged = bytes.clone();
        damage(&mut damaged);
        let path = dir.join(format!("episode-{i:04}.mcap"));
        std::fs::write(&path, &damaged).unwrap();
        let expected = 7005 - lost_chunks.iter().map(|&c| chunks[c].1).sum::<usize>();
        let repaired = record::repair(&path).unwrap_or_else(|e| panic!("{what}: {e}"));
        assert!(repaired.damage.is_some(), "{what}");
        assert_eq!(repaired.messages, expected, "{what}");
        assert_eq!(
            std::fs::read(repaired.original.as_ref().unwrap()).unwrap(),
            damaged,
            "{what}: the original is kept"
        );
        let fixed = EpisodeFile::read(&path).unwrap();
        assert!(fixed.is_complete(), "{what}: {:?}", fixed.problems);
        assert_eq!(fixed.messages.len(), expected, "{what}");
        assert_whole_channels(&fixed);
        // An independent reader agrees.
        let written = std::fs::read(&path).unwrap();
        let mut n = 0;
        for message in mcap::MessageStream::new(&written).unwrap() {
            message.unwrap();
            n += 1;
        }
        assert_eq!(n, expected, "{what}: the mcap crate's count");
        assert_eq!(fixed.metadata["outcome"], "failure", "{what}");
        assert!(fixed.metadata.contains_key("repaired"), "{what}");
    }
}

/// An inner record with opcode 0 (valid CRC) used to vanish silently, leaving `record info`
/// saying `complete` with one message missing.
#[test]
fn an_invalid_record_inside_a_valid_chunk_is_damage() {
    let mut out = Vec::new();
    {
        let mut w = mcap::WriteOptions::new()
            .compression(None)
            .create(std::io::Cursor::new(&mut out))
            .unwrap();
        let schema = w.add_schema("s", "jsonschema", b"{}").unwrap();
        let channel = w
            .add_channel(schema, "/annotations", "json", &Default::default())
            .unwrap();
        let texts: [&[u8]; 3] = [
            b"{\"m\":\"first\"}",
            b"{\"m\":\"marked\"}",
            b"{\"m\":\"third\"}",
        ];
        for (k, text) in texts.into_iter().enumerate() {
            let header = mcap::records::MessageHeader {
                channel_id: channel,
                sequence: k as u32,
                log_time: k as u64,
                publish_time: k as u64,
            };
            w.write_to_known_channel(&header, text).unwrap();
        }
        w.finish().unwrap();
    }
    assert_eq!(parse(&out).messages.len(), 3);
    // The marked message's record: opcode, length, channel, sequence, two times, data.
    let marked = b"{\"m\":\"marked\"}";
    let data_at = out.windows(marked.len()).position(|w| w == marked).unwrap();
    let record_at = data_at - (9 + 2 + 4 + 8 + 8);
    assert_eq!(out[record_at], 0x05);
    out[record_at] = 0x00;
    // Recompute the chunk's CRC, so only the record itself is wrong.
    let chunk = records(&out)
        .into_iter()
        .find(|s| s.opcode == 0x06)
        .unwrap();
    let header = chunk.start + 9;
    let compression_len =
        u32::from_le_bytes(out[header + 28..header + 32].try_into().unwrap()) as usize;
    let records_at = header + 32 + compression_len + 8;
    let crc = crc32(&out[records_at..chunk.end]);
    out[header + 24..header + 28].copy_from_slice(&crc.to_le_bytes());
    let episode = parse(&out);
    assert_eq!(episode.messages.len(), 2);
    let damage = episode.damage.expect("not complete");
    assert!(damage.contains("opcode 0x00"), "{damage}");
}

/// CRC-32 (IEEE), as MCAP uses it.
fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in bytes {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

#[test]
fn metadata_lost_with_the_records_comes_from_the_sidecar() {
    let bytes = fixture_bytes();
    let mut damaged = bytes.clone();
    for span in records(&bytes) {
        if span.opcode == 0x0C {
            damaged[span.start..span.end].fill(0);
        }
    }
    let dir = scratch("sidecar");
    let path = dir.join("episode-0000.mcap");
    std::fs::write(&path, &damaged).unwrap();
    // Without the sidecar the metadata is gone…
    assert!(EpisodeFile::read(&path).unwrap().metadata.is_empty());
    // …with it, back (the long texts excepted), and replay's and export's keys are there.
    std::fs::copy(
        fixture_dir().join("episode-0000.json"),
        path.with_extension("json"),
    )
    .unwrap();
    let episode = EpisodeFile::read(&path).unwrap();
    assert_eq!(episode.messages.len(), 7005);
    assert_eq!(episode.outcome(), "failure");
    let names: Vec<String> = episode.metadata_json("joint_names").unwrap();
    assert_eq!(names.len(), 20);
    assert!(!episode.metadata.contains_key("file"));
    assert!(
        episode
            .problems
            .iter()
            .any(|p| p.contains("episode-0000.json")),
        "{:?}",
        episode.problems
    );
}

/// `teleop record info` on the tester's file (one bit flipped mid-chunk) answers, exit 0.
#[test]
fn record_info_on_a_flipped_bit_says_damaged_and_counts_the_rest() {
    let bytes = fixture_bytes();
    let chunks = chunks(&bytes);
    let (span, messages) = chunks[20];
    let mut damaged = bytes.clone();
    damaged[(span.start + span.end) / 2] ^= 0x10;
    let dir = scratch("info");
    let path = dir.join("episode-0000.mcap");
    std::fs::write(&path, &damaged).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_teleop"))
        .args(["record", "info"])
        .arg(&path)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("damaged"), "{stdout}");
    let counted: usize = stdout
        .lines()
        .filter_map(|l| l.trim().strip_suffix(" messages"))
        .filter_map(|l| l.split_whitespace().last()?.parse::<usize>().ok())
        .sum();
    assert_eq!(counted, 7005 - messages, "{stdout}");
}

/// Unmounts a test filesystem however the test ends.
struct Mount(PathBuf);

impl Drop for Mount {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

/// `record repair` on a full disk fails naming the file and leaves no partial copy behind.
#[test]
fn repair_on_a_full_disk_leaves_nothing_behind() {
    let dir = scratch("full");
    let mounted = Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=1200k", "tmpfs"])
        .arg(&dir)
        .output()
        .is_ok_and(|o| o.status.success());
    if !mounted {
        assert!(
            std::env::var_os("CI").is_none(),
            "mounting a small tmpfs needs root (CI runs as root)"
        );
        eprintln!("skipping: cannot mount a tmpfs (not root)");
        return;
    }
    let _mount = Mount(dir.clone());
    let mut damaged = fixture_bytes();
    let len = damaged.len();
    damaged.truncate(len - 5000);
    let path = dir.join("episode-0000.mcap");
    std::fs::write(&path, &damaged).unwrap();
    let error = record::repair(&path).unwrap_err().to_string();
    assert!(
        error.contains("No space left on device") && error.contains("episode-0000.mcap"),
        "{error}"
    );
    let left: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(left, vec![std::ffi::OsString::from("episode-0000.mcap")]);
    assert_eq!(std::fs::read(&path).unwrap(), damaged);
}
