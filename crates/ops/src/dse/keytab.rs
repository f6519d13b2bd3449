//! MIT keytab files, as the engine's Kerberos set-up stores them: read to check, before
//! anything is written, that a keytab holds the principal the engine will log in as.
//!
//! The format: byte `0x05`, a version byte (`0x01` or `0x02`), then entries, each a signed
//! 32-bit length (a negative one is a hole of that many bytes, left by a deleted entry; zero
//! ends the file) and: the number of components (16 bit; version 1 counts the realm too), the
//! realm and each component (16-bit length and bytes), the name type (32 bit, version 2 only),
//! a timestamp (32 bit), the key version (8 bit), the key type (16 bit), the key (16-bit length
//! and bytes) and, when the entry has room for it, a 32-bit key version that supersedes the
//! 8-bit one. Version 2 is big-endian. Version 1 was written in the host's byte order; it is
//! read here as big-endian, and one that does not read so is refused as damaged.

use std::fmt;

use crate::error::{Error, Result};

/// The first byte of every keytab.
const MAGIC: u8 = 0x05;

/// A principal: its components and realm, `jupyter/host.example.com@EXAMPLE.COM`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Principal {
    /// `["jupyter", "host.example.com"]`.
    pub components: Vec<String>,
    /// `EXAMPLE.COM`.
    pub realm: String,
    /// The name type (1, `KRB5_NT_PRINCIPAL`, unless written otherwise; version 1 has none).
    pub name_type: u32,
}

impl Principal {
    /// The first component, the primary (`jupyter`).
    pub fn primary(&self) -> &str {
        self.components.first().map_or("", String::as_str)
    }
}

impl fmt::Display for Principal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}@{}", self.components.join("/"), self.realm)
    }
}

/// One key of a principal.
#[derive(Clone, PartialEq, Eq)]
pub struct Entry {
    pub principal: Principal,
    /// When the key was written, in seconds since 1970.
    pub timestamp: u32,
    /// The key version number.
    pub kvno: u32,
    /// The encryption type (18 is `aes256-cts-hmac-sha1-96`).
    pub enctype: u16,
    key: Vec<u8>,
}

impl fmt::Debug for Entry {
    // Never the key.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Entry")
            .field("principal", &self.principal.to_string())
            .field("kvno", &self.kvno)
            .field("enctype", &self.enctype)
            .field("key", &format_args!("<{} bytes>", self.key.len()))
            .finish()
    }
}

impl Entry {
    /// An entry of `principal` with `key`.
    pub fn new(principal: Principal, kvno: u32, enctype: u16, key: Vec<u8>) -> Self {
        Self {
            principal,
            timestamp: 0,
            kvno,
            enctype,
            key,
        }
    }
}

/// A parsed keytab.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Keytab {
    /// 1 or 2.
    pub version: u8,
    pub entries: Vec<Entry>,
}

/// Reads big-endian fields, naming the offset of what is missing.
struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize, what: &str) -> Result<&'a [u8]> {
        let end = self
            .at
            .checked_add(n)
            .filter(|end| *end <= self.bytes.len());
        let Some(end) = end else {
            return Err(damaged(format!(
                "it ends inside {what} at byte {}",
                self.at
            )));
        };
        let taken = &self.bytes[self.at..end];
        self.at = end;
        Ok(taken)
    }

    fn u8(&mut self, what: &str) -> Result<u8> {
        Ok(self.take(1, what)?[0])
    }

    fn u16(&mut self, what: &str) -> Result<u16> {
        let b = self.take(2, what)?;
        Ok(u16::from_be_bytes([b[0], b[1]]))
    }

    fn u32(&mut self, what: &str) -> Result<u32> {
        let b = self.take(4, what)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn data(&mut self, what: &str) -> Result<&'a [u8]> {
        let n = self.u16(what)?;
        self.take(n as usize, what)
    }

    fn text(&mut self, what: &str) -> Result<String> {
        let at = self.at;
        String::from_utf8(self.data(what)?.to_vec())
            .map_err(|_| damaged(format!("{what} at byte {at} is not UTF-8")))
    }
}

fn damaged(why: String) -> Error {
    Error::invalid(format!("not a readable MIT keytab: {why}"))
}

impl Keytab {
    /// Parses a keytab file's bytes.
    pub fn parse(bytes: &[u8]) -> Result<Self> {
        let mut r = Reader { bytes, at: 0 };
        if r.u8("the header")? != MAGIC {
            return Err(damaged("it does not start with byte 0x05".into()));
        }
        let version = r.u8("the header")?;
        if !matches!(version, 1 | 2) {
            return Err(damaged(format!("its version is {version}, not 1 or 2")));
        }
        let mut entries = Vec::new();
        while r.at < bytes.len() {
            let size = r.u32("an entry's length")? as i32;
            if size == 0 {
                break;
            }
            let length = size.unsigned_abs() as usize;
            let start = r.at;
            let body = r.take(length, "an entry")?;
            if size < 0 {
                continue;
            }
            entries.push(
                Self::entry(body, version)
                    .map_err(|e| e.context(format!("the entry at byte {}", start - 4)))?,
            );
        }
        Ok(Self { version, entries })
    }

    fn entry(body: &[u8], version: u8) -> Result<Entry> {
        let mut r = Reader { bytes: body, at: 0 };
        let mut count = r.u16("the number of components")?;
        if version == 1 {
            count = count
                .checked_sub(1)
                .ok_or_else(|| damaged("a version 1 entry without its realm".into()))?;
        }
        let realm = r.text("the realm")?;
        let components = (0..count)
            .map(|_| r.text("a component"))
            .collect::<Result<Vec<_>>>()?;
        let name_type = match version {
            1 => 0,
            _ => r.u32("the name type")?,
        };
        let timestamp = r.u32("the timestamp")?;
        let kvno8 = r.u8("the key version")?;
        let enctype = r.u16("the key type")?;
        let key = r.data("the key")?.to_vec();
        let kvno = match body.len() - r.at {
            n if n >= 4 => match r.u32("the key version")? {
                0 => u32::from(kvno8),
                kvno => kvno,
            },
            _ => u32::from(kvno8),
        };
        Ok(Entry {
            principal: Principal {
                components,
                realm,
                name_type,
            },
            timestamp,
            kvno,
            enctype,
            key,
        })
    }

    /// The file's bytes: version 2, each entry with its 32-bit key version.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = vec![MAGIC, 2];
        let data = |out: &mut Vec<u8>, bytes: &[u8]| {
            out.extend_from_slice(&(bytes.len() as u16).to_be_bytes());
            out.extend_from_slice(bytes);
        };
        for entry in &self.entries {
            let p = &entry.principal;
            let mut body = Vec::new();
            body.extend_from_slice(&(p.components.len() as u16).to_be_bytes());
            data(&mut body, p.realm.as_bytes());
            for component in &p.components {
                data(&mut body, component.as_bytes());
            }
            body.extend_from_slice(&p.name_type.to_be_bytes());
            body.extend_from_slice(&entry.timestamp.to_be_bytes());
            body.push(entry.kvno.min(255) as u8);
            body.extend_from_slice(&entry.enctype.to_be_bytes());
            data(&mut body, &entry.key);
            body.extend_from_slice(&entry.kvno.to_be_bytes());
            out.extend_from_slice(&(body.len() as i32).to_be_bytes());
            out.extend_from_slice(&body);
        }
        out
    }

    /// Every principal it holds keys for, each once, sorted.
    pub fn principals(&self) -> Vec<&Principal> {
        let mut principals: Vec<&Principal> = self.entries.iter().map(|e| &e.principal).collect();
        principals.sort();
        principals.dedup();
        principals
    }

    /// Checks that it holds a key of a principal whose primary is `primary` in `realm` (the
    /// engine logs in as `<primary>/<host>@<realm>`); the refusal lists what it does hold.
    pub fn check(&self, primary: &str, realm: &str) -> Result<()> {
        let found = self
            .entries
            .iter()
            .any(|e| e.principal.primary() == primary && e.principal.realm == realm);
        if found {
            return Ok(());
        }
        let held: Vec<String> = self.principals().iter().map(|p| p.to_string()).collect();
        Err(Error::invalid(format!(
            "the keytab holds no key of a principal `{primary}/...@{realm}`; it holds {}",
            match held.is_empty() {
                true => "no key at all".to_owned(),
                false => held.join(", "),
            }
        )))
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn principal(components: &[&str], realm: &str) -> Principal {
        Principal {
            components: components.iter().map(|c| c.to_string()).collect(),
            realm: realm.into(),
            name_type: 1,
        }
    }

    fn keytab() -> Keytab {
        Keytab {
            version: 2,
            entries: vec![
                Entry::new(
                    principal(&["jupyter", "node-1"], "EXAMPLE.COM"),
                    3,
                    18,
                    vec![7; 32],
                ),
                Entry::new(principal(&["hdfs"], "OTHER.ORG"), 300, 17, vec![9; 16]),
            ],
        }
    }

    #[test]
    fn a_keytab_reads_back_as_written_and_is_checked_by_primary_and_realm() {
        let bytes = keytab().to_bytes();
        let read = Keytab::parse(&bytes).unwrap();
        assert_eq!(read, keytab());
        assert_eq!(read.entries[1].kvno, 300, "the 32-bit key version wins");
        read.check("jupyter", "EXAMPLE.COM").unwrap();
        let wrong_realm = read
            .check("jupyter", "EXAMPLE.ORG")
            .unwrap_err()
            .to_string();
        assert!(
            wrong_realm.contains("hdfs@OTHER.ORG, jupyter/node-1@EXAMPLE.COM"),
            "{wrong_realm}"
        );
        assert!(read.check("spark", "EXAMPLE.COM").is_err());
        assert!(
            !format!("{read:?}").contains("7, 7"),
            "the key is never shown"
        );
    }

    #[test]
    fn holes_are_skipped_and_version_1_counts_the_realm() {
        let mut bytes = vec![MAGIC, 1];
        // A hole of 6 bytes left by a deleted entry.
        bytes.extend_from_slice(&(-6i32).to_be_bytes());
        bytes.extend_from_slice(&[0; 6]);
        // A version 1 entry: 2 counts the realm and one component; no name type; no kvno32.
        let mut body = vec![0, 2];
        for part in ["R.ORG", "jupyter"] {
            body.extend_from_slice(&(part.len() as u16).to_be_bytes());
            body.extend_from_slice(part.as_bytes());
        }
        body.extend_from_slice(&[0, 0, 0, 1, 5, 0, 18, 0, 2, 0xAA, 0xBB]);
        bytes.extend_from_slice(&(body.len() as i32).to_be_bytes());
        bytes.extend_from_slice(&body);
        let read = Keytab::parse(&bytes).unwrap();
        assert_eq!(read.version, 1);
        assert_eq!(read.entries.len(), 1);
        assert_eq!(read.entries[0].principal.to_string(), "jupyter@R.ORG");
        assert_eq!(read.entries[0].kvno, 5);
        read.check("jupyter", "R.ORG").unwrap();
    }

    #[test]
    fn damaged_files_are_refused_with_where() {
        assert!(Keytab::parse(b"").is_err());
        assert!(Keytab::parse(&[0x06, 0x02]).is_err());
        assert!(Keytab::parse(&[MAGIC, 0x03]).is_err());
        let bytes = keytab().to_bytes();
        let cut = Keytab::parse(&bytes[..bytes.len() - 3]).unwrap_err();
        assert_eq!(cut.kind(), crate::ErrorKind::Invalid);
        assert!(cut.to_string().contains("byte"), "{cut}");
        // A length that points past the end.
        let mut long = vec![MAGIC, 2];
        long.extend_from_slice(&i32::MAX.to_be_bytes());
        assert!(Keytab::parse(&long).is_err());
    }

    proptest! {
        #[test]
        fn any_keytab_reads_back_as_written(
            entries in proptest::collection::vec(
                (
                    proptest::collection::vec("[a-z0-9.-]{1,12}", 1..3),
                    "[A-Z.]{1,16}",
                    any::<u32>(),
                    any::<u16>(),
                    proptest::collection::vec(any::<u8>(), 0..64),
                ),
                0..6,
            )
        ) {
            let keytab = Keytab {
                version: 2,
                entries: entries
                    .into_iter()
                    .map(|(components, realm, kvno, enctype, key)| Entry {
                        principal: Principal { components, realm, name_type: 1 },
                        timestamp: 1_700_000_000,
                        kvno,
                        enctype,
                        key,
                    })
                    .collect(),
            };
            let read = Keytab::parse(&keytab.to_bytes()).unwrap();
            prop_assert_eq!(read.entries.len(), keytab.entries.len());
            for (a, b) in read.entries.iter().zip(&keytab.entries) {
                prop_assert_eq!(&a.principal, &b.principal);
                prop_assert_eq!(a.kvno, b.kvno);
                prop_assert_eq!(&a.key, &b.key);
            }
        }
    }
}
