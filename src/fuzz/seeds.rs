//! Seeds from files: a capture (pcap or pcapng: the datagrams it holds that went to the
//! target's port, else those that went where its first datagram went), a folder (each file in
//! it one seed, in name order), or any other file (one seed, its bytes).

use std::path::Path;

use crate::capture::{Filter, parse_pcap};

/// Seeds read from a folder at most (a corpus, not a disk).
const MOST: usize = 10_000;

pub fn load(path: &Path, port: u16) -> Result<Vec<Vec<u8>>, String> {
    let meta = std::fs::metadata(path)
        .map_err(|e| format!("cannot read seeds {}: {e}", path.display()))?;
    if meta.is_dir() {
        let mut files: Vec<_> = std::fs::read_dir(path)
            .map_err(|e| format!("cannot read seeds {}: {e}", path.display()))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.is_file())
            .collect();
        files.sort();
        let mut seeds = Vec::new();
        for f in files.iter().take(MOST) {
            seeds.extend(load(f, port)?);
        }
        if seeds.is_empty() {
            return Err(format!(
                "no seeds in {}: the folder has no files",
                path.display()
            ));
        }
        return Ok(seeds);
    }
    let bytes = crate::fifo::read_regular(path)
        .map_err(|e| format!("cannot read seeds {}: {e}", path.display()))?;
    if !is_capture(&bytes) {
        return Ok(vec![bytes]);
    }
    let capture = parse_pcap(&bytes, &Filter::default())
        .map_err(|e| format!("cannot read capture {}: {e}", path.display()))?;
    let mut seeds: Vec<Vec<u8>> = capture
        .datagrams
        .iter()
        .filter(|d| d.dst.port() == port)
        .map(|d| d.data.clone())
        .collect();
    if seeds.is_empty()
        && let Some(first) = capture.datagrams.first()
    {
        seeds = capture
            .datagrams
            .iter()
            .filter(|d| d.dst == first.dst)
            .map(|d| d.data.clone())
            .collect();
    }
    if seeds.is_empty() {
        return Err(format!("no UDP datagrams in {}", path.display()));
    }
    Ok(seeds)
}

/// pcapng's section header, or classic pcap's magic in either byte order and resolution.
fn is_capture(bytes: &[u8]) -> bool {
    let Some(magic) = bytes.get(..4) else {
        return false;
    };
    matches!(
        magic,
        [0x0a, 0x0d, 0x0d, 0x0a]
            | [0xd4, 0xc3, 0xb2, 0xa1]
            | [0xa1, 0xb2, 0xc3, 0xd4]
            | [0x4d, 0x3c, 0xb2, 0xa1]
            | [0xa1, 0xb2, 0x3c, 0x4d]
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_folders_and_captures() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("b.bin"), b"second").unwrap();
        std::fs::write(dir.path().join("a.bin"), b"first").unwrap();
        assert_eq!(
            load(&dir.path().join("a.bin"), 1).unwrap(),
            vec![b"first".to_vec()]
        );
        assert_eq!(
            load(dir.path(), 1).unwrap(),
            vec![b"first".to_vec(), b"second".to_vec()]
        );
        let capture =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/capture/dnsmasq_lo.pcap");
        let queries = load(&capture, 0).unwrap();
        assert_eq!(queries.len(), 3, "the three queries, not the answers");
        assert_eq!(&queries[0][..2], [0x12, 0x01]);
        assert!(
            load(&dir.path().join("none"), 1)
                .unwrap_err()
                .contains("cannot read seeds")
        );
    }
}
