//! The wire between the operator station and the robot, in the format ROS 2's `rmw_zenoh_cpp`
//! (Jazzy and newer) uses, so that `ros2 topic echo` sees the same topics.
//!
//! - [`bus`]: the Zenoh session, publishers that attach what rmw_zenoh requires, decoding
//!   subscribers, liveliness (who is on the network).
//! - [`types`]: the ROS 2 messages (`JointState`, `JointTrajectory`, `CompressedImage`,
//!   `Float64MultiArray`, `TFMessage`, `PoseStamped`, …) as serde structs, with their pinned
//!   RIHS01 type hashes.
//! - [`encode`] / [`decode`]: CDR little-endian with its 4-byte encapsulation header
//!   (`00 01 00 00`), through the `cdr-encoding` crate, into a caller-owned buffer.
//! - [`names`]: topic key expressions, liveliness tokens for nodes and endpoints, QoS strings.
//! - [`attachment`]: the 33 bytes rmw_zenoh puts on every sample (sequence number, source
//!   timestamp, GID); a subscriber drops samples without it.
//! - [`convert`]: the crate's own data into these messages, reusing their allocations.
//!
//! Sources: `ros2/rmw_zenoh` (`docs/design.md`, `liveliness_utils.cpp`, `qos.cpp`,
//! `attachment_helpers.cpp`, `type_support.cpp`); `/work/shared/notes/network.md`.

pub mod attachment;
pub mod bus;
pub mod convert;
pub mod names;
pub mod types;

pub use attachment::{Attachment, Gid};
pub use names::{Durability, EntityKind, History, NodeInfo, Qos, Reliability};
pub use types::{Message, RosType};

use byteorder::{BigEndian, LittleEndian};

/// The encapsulation header of a little-endian plain CDR payload (`CDR_LE`, no options).
pub const CDR_LE_HEADER: [u8; 4] = [0x00, 0x01, 0x00, 0x00];

/// What went wrong turning bytes into something of this module, or back.
#[derive(Debug, thiserror::Error)]
pub enum LinkError {
    #[error("CDR: {0}")]
    Cdr(#[from] cdr_encoding::Error),
    #[error("payload of {0} bytes is shorter than its 4-byte encapsulation header")]
    NoHeader(usize),
    #[error("encapsulation {0:02x?} is not plain CDR (00 00 big-endian or 00 01 little-endian)")]
    Encapsulation([u8; 2]),
    #[error("{unused} bytes left over after the {type_name} in a {len}-byte payload (wrong type?)")]
    Trailing {
        type_name: &'static str,
        unused: usize,
        len: usize,
    },
    #[error("attachment: {0}")]
    Attachment(String),
    #[error("name: {0}")]
    Name(String),
    #[error("{0}")]
    Mismatch(String),
    #[error("{0}")]
    Zenoh(String),
}

/// Encodes `msg` as rmw_zenoh sends it: the `CDR_LE` header, then the CDR body. `out` is
/// cleared first and reused (no allocation once it is large enough).
pub fn encode<M: Message>(msg: &M, out: &mut Vec<u8>) -> Result<(), LinkError> {
    out.clear();
    out.extend_from_slice(&CDR_LE_HEADER);
    // Alignment in CDR counts from the end of the header: the serializer starts at 0.
    cdr_encoding::to_writer::<M, LittleEndian, _>(&mut *out, msg)?;
    Ok(())
}

/// Decodes a payload with its encapsulation header (either byte order). Up to 3 bytes of
/// padding after the message are accepted; more means the bytes are not an `M`.
pub fn decode<M: Message>(bytes: &[u8]) -> Result<M, LinkError> {
    let Some((header, body)) = bytes.split_first_chunk::<4>() else {
        return Err(LinkError::NoHeader(bytes.len()));
    };
    let (msg, used) = match [header[0], header[1]] {
        [0x00, 0x01] => cdr_encoding::from_bytes::<M, LittleEndian>(body)?,
        [0x00, 0x00] => cdr_encoding::from_bytes::<M, BigEndian>(body)?,
        other => return Err(LinkError::Encapsulation(other)),
    };
    let unused = body.len() - used;
    if unused > 3 {
        return Err(LinkError::Trailing {
            type_name: M::TYPE.name,
            unused,
            len: bytes.len(),
        });
    }
    Ok(msg)
}

#[cfg(test)]
mod tests {
    use super::types::*;
    use super::*;

    #[test]
    fn a_header_encodes_as_fast_cdr_would() {
        let h = Header {
            stamp: Time { sec: 1, nanosec: 2 },
            frame_id: "ab".into(),
        };
        let mut out = vec![0xff; 64];
        encode(&h, &mut out).unwrap();
        assert_eq!(
            out,
            [
                0, 1, 0, 0, // CDR_LE
                1, 0, 0, 0, 2, 0, 0, 0, // stamp
                3, 0, 0, 0, b'a', b'b', 0 // "ab" with its NUL, length 3
            ]
        );
        assert_eq!(decode::<Header>(&out).unwrap(), h);
    }

    #[test]
    fn doubles_align_to_eight_from_the_end_of_the_header() {
        let m = Float64MultiArray {
            layout: MultiArrayLayout::default(),
            data: vec![1.5],
        };
        let mut out = Vec::new();
        encode(&m, &mut out).unwrap();
        // header 4 | dim count 4 | data_offset 4 | data count 4 | (body offset 12: pad 4) | f64
        assert_eq!(out.len(), 4 + 4 + 4 + 4 + 4 + 8);
        assert_eq!(&out[20..], &1.5f64.to_le_bytes());
        assert_eq!(decode::<Float64MultiArray>(&out).unwrap(), m);
    }

    #[test]
    fn bad_payloads_are_errors_not_panics() {
        assert!(matches!(
            decode::<Header>(&[0, 1]),
            Err(LinkError::NoHeader(2))
        ));
        assert!(matches!(
            decode::<Header>(&[0, 7, 0, 0, 0, 0, 0, 0]),
            Err(LinkError::Encapsulation([0, 7]))
        ));
        // A string claiming 4 GB: refused without allocating it.
        let huge = [
            0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, b'a',
        ];
        assert!(decode::<Header>(&huge).is_err());
        // A JointState is not a Time followed by nothing.
        let mut out = Vec::new();
        encode(&JointState::default(), &mut out).unwrap();
        encode(
            &Header {
                frame_id: "a long frame id".into(),
                ..Header::default()
            },
            &mut out,
        )
        .unwrap();
        assert!(matches!(
            decode::<Time>(&out),
            Err(LinkError::Trailing { .. })
        ));
    }

    #[test]
    fn the_buffer_is_reused() {
        let mut out = Vec::with_capacity(256);
        let before = out.as_ptr();
        for n in 0..3 {
            let js = JointState {
                position: vec![n as f64; 4],
                ..JointState::default()
            };
            encode(&js, &mut out).unwrap();
            assert_eq!(decode::<JointState>(&out).unwrap(), js);
        }
        assert_eq!(out.as_ptr(), before);
    }

    #[test]
    fn big_endian_payloads_decode_too() {
        let mut be = vec![0, 0, 0, 0];
        be.extend_from_slice(&7i32.to_be_bytes());
        be.extend_from_slice(&9u32.to_be_bytes());
        assert_eq!(decode::<Time>(&be).unwrap(), Time { sec: 7, nanosec: 9 });
    }

    #[test]
    fn dds_names_follow_the_ros_names() {
        for t in types::ALL_TYPES {
            let (pkg, name) = t.name.split_once("/msg/").unwrap();
            assert_eq!(t.dds_name, format!("{pkg}::msg::dds_::{name}_"));
            assert!(
                t.hash.starts_with("RIHS01_") && t.hash.len() == 7 + 64,
                "{t:?}"
            );
        }
    }
}
