//! The OLE2 compound file an Excel 97–2003 workbook lives in: its
//! `Workbook` stream found and read the way calamine reads it, with every
//! sector chain checked — each sector inside the file, none visited twice,
//! every FAT sector distinct — so that a malformed or hostile container is
//! refused here. calamine follows the same chains unchecked: a cycle grows
//! its buffer without end, a DIFAT naming one sector a million times makes
//! a FAT of gigabytes, a sector number past the FAT panics.
//!
//! Knows sectors and directory entries, nothing of what the stream holds
//! (that is `xls`).

/// End of a sector chain.
const END_OF_CHAIN: u32 = 0xFFFF_FFFE;
/// Sector numbers from here on are markers, not sectors (calamine's bound
/// for the DIFAT chain).
const RESERVED: u32 = 0xFFFF_FFFA;
/// DIFAT entries from here on name no FAT sector.
const DIF_SECTOR: u32 = 0xFFFF_FFFC;
/// Streams shorter than this live in the mini stream (calamine's rule).
const MINI_CUTOFF: usize = 4096;
const MINI_SECTOR: usize = 64;
const SIGNATURE: &[u8] = b"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1";

/// The compound file's `Workbook` (or, before Excel 97, `Book`) stream.
/// `Err` says what is wrong with the container.
pub(super) fn workbook_stream(bytes: &[u8]) -> Result<Vec<u8>, String> {
    let file = Compound::open(bytes)?;
    let entry = ["Workbook", "Book"]
        .iter()
        .find_map(|want| file.entries.iter().find(|e| e.name.eq_ignore_ascii_case(want)))
        .ok_or("the compound file holds no Workbook stream (not an Excel workbook?)")?;
    if entry.len < MINI_CUTOFF {
        file.mini_stream_of(entry)
    } else {
        file.chain(entry.start, entry.len)
    }
}

struct Entry {
    name: String,
    start: u32,
    len: usize,
}

struct Compound<'a> {
    bytes: &'a [u8],
    sector: usize,
    fat: Vec<u32>,
    entries: Vec<Entry>,
    mini_fat: Vec<u32>,
    mini_stream: Vec<u8>,
}

fn u16_at(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([b[at], b[at + 1]])
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

fn u32s(b: &[u8]) -> impl Iterator<Item = u32> + '_ {
    b.chunks_exact(4).map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
}

impl<'a> Compound<'a> {
    fn open(bytes: &'a [u8]) -> Result<Self, String> {
        if bytes.len() < 512 || !bytes.starts_with(SIGNATURE) {
            return Err("not an OLE2 compound file".into());
        }
        let sector = match u16_at(bytes, 30) {
            9 => 512,
            12 if bytes.len() >= 4096 => 4096,
            shift => return Err(format!("sector shift {shift} is not 9 or 12")),
        };
        if u16_at(bytes, 32) != 6 {
            return Err("mini sector shift is not 6".into());
        }
        let version = u16_at(bytes, 26);
        let (dir_start, mini_fat_start) = (u32_at(bytes, 48), u32_at(bytes, 60));
        let mini_fat_len = u32_at(bytes, 64) as usize;
        let mut file = Self {
            bytes,
            sector,
            fat: Vec::new(),
            entries: Vec::new(),
            mini_fat: Vec::new(),
            mini_stream: Vec::new(),
        };
        // The DIFAT: 109 entries in the header, then a chain of sectors whose
        // last entry names the next.
        let mut difat: Vec<u32> = u32s(&bytes[76..512]).collect();
        let mut next = u32_at(bytes, 68);
        let mut seen = Seen::default();
        while next < RESERVED {
            seen.first_time(next, "DIFAT")?;
            difat.extend(u32s(file.sector(next)?));
            next = difat.pop().ok_or("the DIFAT chain is cut short")?;
        }
        // The FAT: the sectors the DIFAT names, each once.
        let mut fat_sectors = Seen::default();
        for id in difat.into_iter().filter(|id| *id < DIF_SECTOR) {
            fat_sectors.first_time(id, "FAT")?;
            let fat: Vec<u32> = u32s(file.sector(id)?).collect();
            file.fat.extend(fat);
        }
        let directory = file.chain(dir_start, usize::MAX)?;
        file.entries = directory
            .chunks_exact(128)
            .map(|e| {
                let name = encoding_rs::UTF_16LE.decode_without_bom_handling(&e[..64]).0;
                let name = name.split('\0').next().unwrap_or("").to_string();
                let len = if sector == 512 {
                    u32_at(e, 120) as usize
                } else {
                    usize::try_from(u64::from_le_bytes(e[120..128].try_into().expect("8 bytes"))).unwrap_or(usize::MAX)
                };
                Entry {
                    name,
                    start: u32_at(e, 116),
                    len,
                }
            })
            .collect();
        let Some(root) = file.entries.first() else {
            return Err("the compound file's directory is empty".into());
        };
        if version != 3 && root.start == END_OF_CHAIN {
            return Err("the compound file's root directory is empty".into());
        }
        if mini_fat_len > 0 {
            let (root_start, root_len) = (root.start, root.len);
            file.mini_stream = file.chain(root_start, root_len)?;
            let mini_fat = file.chain(mini_fat_start, mini_fat_len.saturating_mul(sector))?;
            file.mini_fat = u32s(&mini_fat).collect();
        }
        Ok(file)
    }

    /// Sector `id`'s bytes (the last may be cut short by the end of file).
    fn sector(&self, id: u32) -> Result<&'a [u8], String> {
        let start = (id as usize + 1).saturating_mul(self.sector);
        if start >= self.bytes.len() {
            return Err(format!("sector {id} lies past the end of the file"));
        }
        Ok(&self.bytes[start..(start + self.sector).min(self.bytes.len())])
    }

    /// Up to `len` bytes of the chain from `start`, checked.
    fn chain(&self, start: u32, len: usize) -> Result<Vec<u8>, String> {
        let mut out = Vec::new();
        let mut seen = Seen::default();
        let mut id = start;
        while id != END_OF_CHAIN {
            seen.first_time(id, "sector")?;
            let sector = self.sector(id)?;
            out.extend_from_slice(&sector[..sector.len().min(len - out.len())]);
            if out.len() >= len {
                break;
            }
            id = *self
                .fat
                .get(id as usize)
                .ok_or_else(|| format!("sector {id} has no FAT entry"))?;
        }
        Ok(out)
    }

    /// A short stream's bytes, from the mini stream, checked.
    fn mini_stream_of(&self, entry: &Entry) -> Result<Vec<u8>, String> {
        let mut out = Vec::new();
        let mut seen = Seen::default();
        let mut id = entry.start;
        while id != END_OF_CHAIN && out.len() < entry.len {
            seen.first_time(id, "mini sector")?;
            let start = (id as usize).saturating_mul(MINI_SECTOR);
            let Some(sector) = self
                .mini_stream
                .get(start..(start + MINI_SECTOR).min(self.mini_stream.len()))
            else {
                return Err(format!("mini sector {id} lies past the mini stream"));
            };
            if sector.is_empty() {
                return Err(format!("mini sector {id} lies past the mini stream"));
            }
            out.extend_from_slice(&sector[..sector.len().min(entry.len - out.len())]);
            id = *self
                .mini_fat
                .get(id as usize)
                .ok_or_else(|| format!("mini sector {id} has no mini FAT entry"))?;
        }
        Ok(out)
    }
}

/// The sectors a chain has visited: a second visit is a cycle.
#[derive(Default)]
struct Seen(std::collections::HashSet<u32>);

impl Seen {
    fn first_time(&mut self, id: u32, what: &str) -> Result<(), String> {
        if self.0.insert(id) {
            Ok(())
        } else {
            Err(format!("{what} {id} is named twice in a chain (a cycle)"))
        }
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;

    /// A compound file of 512-byte sectors holding one stream `name`
    /// (written in regular sectors, so at least 4096 bytes of it), with the
    /// FAT given by `fat` or made to chain the sectors in order.
    pub(in crate::ingest) fn compound(name: &str, stream: &[u8], fat: Option<Vec<u32>>) -> Vec<u8> {
        let stream_sectors = stream.len().div_ceil(512).max(1) as u32;
        // Sector 0: the FAT; 1: the directory; 2..: the stream.
        let fat = fat.unwrap_or_else(|| {
            let mut fat = vec![0xFFFF_FFFD, END_OF_CHAIN];
            for s in 0..stream_sectors {
                fat.push(if s + 1 == stream_sectors { END_OF_CHAIN } else { 3 + s });
            }
            fat
        });
        let mut header = vec![0u8; 512];
        header[..8].copy_from_slice(SIGNATURE);
        header[26..28].copy_from_slice(&3u16.to_le_bytes());
        header[28..30].copy_from_slice(&0xFFFEu16.to_le_bytes());
        header[30..32].copy_from_slice(&9u16.to_le_bytes());
        header[32..34].copy_from_slice(&6u16.to_le_bytes());
        header[44..48].copy_from_slice(&1u32.to_le_bytes());
        header[48..52].copy_from_slice(&1u32.to_le_bytes());
        header[56..60].copy_from_slice(&4096u32.to_le_bytes());
        header[60..64].copy_from_slice(&END_OF_CHAIN.to_le_bytes());
        header[68..72].copy_from_slice(&END_OF_CHAIN.to_le_bytes());
        for (i, slot) in header[76..512].chunks_exact_mut(4).enumerate() {
            slot.copy_from_slice(&(if i == 0 { 0u32 } else { 0xFFFF_FFFF }).to_le_bytes());
        }
        let mut fat_sector = vec![0xFFu8; 512];
        for (slot, id) in fat_sector.chunks_exact_mut(4).zip(&fat) {
            slot.copy_from_slice(&id.to_le_bytes());
        }
        let mut directory = vec![0u8; 512];
        let entry = |dir: &mut [u8], name: &str, kind: u8, start: u32, len: u32| {
            for (i, unit) in name.encode_utf16().enumerate() {
                dir[2 * i..2 * i + 2].copy_from_slice(&unit.to_le_bytes());
            }
            dir[64..66].copy_from_slice(&(2 * (name.len() as u16 + 1)).to_le_bytes());
            dir[66] = kind;
            dir[116..120].copy_from_slice(&start.to_le_bytes());
            dir[120..124].copy_from_slice(&len.to_le_bytes());
        };
        entry(&mut directory[..128], "Root Entry", 5, END_OF_CHAIN, 0);
        entry(&mut directory[128..256], name, 2, 2, stream.len() as u32);
        let mut out = header;
        out.extend(fat_sector);
        out.extend(directory);
        out.extend(stream);
        out.resize(512 * (3 + stream_sectors as usize), 0);
        out
    }

    #[test]
    fn the_workbook_stream_is_read_through_its_chain() {
        let stream: Vec<u8> = (0..5000u32).map(|i| i as u8).collect();
        let file = compound("Workbook", &stream, None);
        assert_eq!(workbook_stream(&file).unwrap(), stream);
        let other = compound("WordDocument", &stream, None);
        assert!(workbook_stream(&other).unwrap_err().contains("no Workbook stream"));
        assert!(workbook_stream(b"not a compound file").is_err());
    }

    /// A compound file holding a short stream in its mini stream: sector 0
    /// the FAT, 1 the directory, 2 the mini FAT, 3.. the mini stream.
    fn with_mini_stream(stream: &[u8], mini_fat: Option<Vec<u32>>) -> Vec<u8> {
        let minis = stream.len().div_ceil(MINI_SECTOR) as u32;
        let container = (minis as usize * MINI_SECTOR).div_ceil(512) as u32;
        let mut fat = vec![0xFFFF_FFFD, END_OF_CHAIN, END_OF_CHAIN];
        for s in 0..container {
            fat.push(if s + 1 == container { END_OF_CHAIN } else { 4 + s });
        }
        let mini_fat =
            mini_fat.unwrap_or_else(|| (1..=minis).map(|m| if m == minis { END_OF_CHAIN } else { m }).collect());
        let mut file = compound("Workbook", &[], Some(fat));
        file.truncate(512 * 3);
        // The header: the mini FAT in sector 2, one sector long.
        file[60..64].copy_from_slice(&2u32.to_le_bytes());
        file[64..68].copy_from_slice(&1u32.to_le_bytes());
        // The directory: the root holds the mini stream, the workbook lives in it.
        let root = 512 * 2;
        file[root + 116..root + 120].copy_from_slice(&3u32.to_le_bytes());
        file[root + 120..root + 124].copy_from_slice(&(minis * MINI_SECTOR as u32).to_le_bytes());
        let entry = root + 128;
        file[entry + 116..entry + 120].copy_from_slice(&0u32.to_le_bytes());
        file[entry + 120..entry + 124].copy_from_slice(&(stream.len() as u32).to_le_bytes());
        let mut mini_fat_sector = vec![0xFFu8; 512];
        for (slot, id) in mini_fat_sector.chunks_exact_mut(4).zip(&mini_fat) {
            slot.copy_from_slice(&id.to_le_bytes());
        }
        file.extend(mini_fat_sector);
        file.extend(stream);
        file.resize(512 * (4 + container as usize), 0);
        file
    }

    #[test]
    fn a_short_workbook_stream_is_read_from_the_mini_stream() {
        let stream: Vec<u8> = (0..1000u32).map(|i| (i % 251) as u8).collect();
        assert_eq!(workbook_stream(&with_mini_stream(&stream, None)).unwrap(), stream);
        // Its mini sectors chaining back.
        let cyclic = with_mini_stream(&stream, Some(vec![1, 0]));
        assert!(workbook_stream(&cyclic).unwrap_err().contains("cycle"));
        let past = with_mini_stream(&stream, Some(vec![400]));
        assert!(workbook_stream(&past).unwrap_err().contains("past the mini stream"));
    }

    #[test]
    fn a_cycle_or_a_sector_past_the_end_is_refused() {
        let stream = vec![7u8; 5000];
        // The stream's second sector points back to its first.
        let cyclic = compound("Workbook", &stream, Some(vec![0xFFFF_FFFD, END_OF_CHAIN, 3, 2]));
        assert!(workbook_stream(&cyclic).unwrap_err().contains("cycle"));
        // The directory chains to itself.
        let looping_directory = compound("Workbook", &stream, Some(vec![0xFFFF_FFFD, 1]));
        assert!(workbook_stream(&looping_directory).unwrap_err().contains("cycle"));
        let past_the_end = compound("Workbook", &stream, Some(vec![0xFFFF_FFFD, END_OF_CHAIN, 4_000_000]));
        assert!(workbook_stream(&past_the_end).unwrap_err().contains("past the end"));
        // The DIFAT naming its one FAT sector many times.
        let mut repeated = compound("Workbook", &stream, None);
        for slot in repeated[80..512].chunks_exact_mut(4) {
            slot.copy_from_slice(&0u32.to_le_bytes());
        }
        assert!(workbook_stream(&repeated).unwrap_err().contains("FAT 0"));
    }
}
