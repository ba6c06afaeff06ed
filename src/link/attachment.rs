//! The attachment rmw_zenoh puts on every sample and requires on every sample it receives
//! ("Unable to obtain attachment" → dropped): `attachment_helpers.cpp` writes it with
//! zenoh-ext's serializer as
//!
//! ```text
//! i64 LE sequence number | i64 LE source timestamp (ns, Unix epoch) | 0x10 (LEB128 length 16) | 16-byte GID
//! ```
//!
//! 33 bytes in all. The GID of an entity is the XXH3-128 of its liveliness key expression
//! (`liveliness_utils.cpp`): [`Gid::of_token`].

use super::LinkError;

/// The 16-byte global id of a publisher (or any rmw_zenoh entity).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Gid(pub [u8; 16]);

impl Gid {
    /// The GID rmw_zenoh gives the entity whose liveliness token is `token`: XXH3-128 (seed 0)
    /// of the key expression, its low 64 bits then its high 64 bits, each little-endian (the
    /// `memcpy` of `low64` and `high64` on a little-endian host).
    pub fn of_token(token: &str) -> Gid {
        // Low half first, each half little-endian: the u128's own little-endian bytes.
        Gid(xxhash_rust::xxh3::xxh3_128(token.as_bytes()).to_le_bytes())
    }
}

impl std::fmt::Display for Gid {
    /// Hex, as a status message names a station.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.iter().try_for_each(|b| write!(f, "{b:02x}"))
    }
}

/// One sample's attachment.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Attachment {
    /// Per publisher, counting from 1.
    pub sequence_number: i64,
    /// When the sample was published: nanoseconds since the Unix epoch, the sender's clock.
    pub source_timestamp_ns: i64,
    /// The publisher's GID.
    pub gid: Gid,
}

impl Attachment {
    /// Its length on the wire.
    pub const LEN: usize = 33;

    /// The wire bytes (no allocation).
    pub fn to_bytes(&self) -> [u8; Self::LEN] {
        let mut out = [0u8; Self::LEN];
        out[0..8].copy_from_slice(&self.sequence_number.to_le_bytes());
        out[8..16].copy_from_slice(&self.source_timestamp_ns.to_le_bytes());
        out[16] = 16;
        out[17..33].copy_from_slice(&self.gid.0);
        out
    }

    /// Reads an attachment. Bytes after the 33 are ignored (as rmw_zenoh's reader does).
    pub fn from_bytes(bytes: &[u8]) -> Result<Attachment, LinkError> {
        if bytes.len() < Self::LEN {
            return Err(LinkError::Attachment(format!(
                "{} bytes, rmw_zenoh's has {}",
                bytes.len(),
                Self::LEN
            )));
        }
        if bytes[16] != 16 {
            return Err(LinkError::Attachment(format!(
                "GID length byte is {}, not 16",
                bytes[16]
            )));
        }
        // Every range below lies within the LEN (33) bytes checked above.
        let i64_at = |at: usize| i64::from_le_bytes(bytes[at..at + 8].try_into().expect("8 bytes"));
        Ok(Attachment {
            sequence_number: i64_at(0),
            source_timestamp_ns: i64_at(8),
            gid: Gid(bytes[17..33].try_into().expect("16 bytes")),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_layout_is_seq_ts_len_gid() {
        let a = Attachment {
            sequence_number: 1,
            source_timestamp_ns: 0x0102_0304_0506_0708,
            gid: Gid([0xaa; 16]),
        };
        let b = a.to_bytes();
        assert_eq!(b.len(), 33);
        assert_eq!(&b[0..8], &[1, 0, 0, 0, 0, 0, 0, 0]);
        assert_eq!(&b[8..16], &[8, 7, 6, 5, 4, 3, 2, 1]);
        assert_eq!(b[16], 0x10);
        assert_eq!(&b[17..], &[0xaa; 16]);
        assert_eq!(Attachment::from_bytes(&b).unwrap(), a);
    }

    #[test]
    fn short_or_malformed_attachments_are_errors() {
        let b = Attachment::default().to_bytes();
        assert!(Attachment::from_bytes(&b[..32]).is_err());
        assert!(Attachment::from_bytes(&[]).is_err());
        let mut wrong = b;
        wrong[16] = 24; // Humble's 24-byte GIDs
        assert!(Attachment::from_bytes(&wrong).is_err());
        let mut longer = b.to_vec();
        longer.push(0);
        assert_eq!(
            Attachment::from_bytes(&longer).unwrap(),
            Attachment::default()
        );
    }

    #[test]
    fn negative_values_round_trip() {
        let a = Attachment {
            sequence_number: -1,
            source_timestamp_ns: i64::MIN,
            gid: Gid(core::array::from_fn(|i| i as u8)),
        };
        assert_eq!(Attachment::from_bytes(&a.to_bytes()).unwrap(), a);
    }

    #[test]
    fn the_gid_is_xxh3_128_of_the_token() {
        // XXH3-128 of the empty input (seed 0) is 99aa06d3014798d86001c324468d497f
        // (xxHash's reference), stored low half first.
        let g = Gid::of_token("");
        let h: u128 = 0x99aa06d3014798d86001c324468d497f;
        assert_eq!(&g.0[..8], &(h as u64).to_le_bytes());
        assert_eq!(&g.0[8..], &((h >> 64) as u64).to_le_bytes());
        assert_ne!(Gid::of_token("a"), Gid::of_token("b"));
        // A publisher token's GID, as Python's `xxhash` 3 computes it
        // (`xxh3_128_intdigest`, low 8 bytes then high 8, little-endian).
        let token = "@ros2_lv/0/1f2e3d/0/1/MP/%/%/teleop_bridge/%joint_states/sensor_msgs::msg::dds_::JointState_/RIHS01_a13ee3a330e346c9d87b5aa18d24e11690752bd33a0350f11c5882bc9179260e/::,10:,:,:,,";
        let hex: String = Gid::of_token(token)
            .0
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(hex, "ce7f7ca0ee255d68ec08c7ba4de30d56");
    }
}
