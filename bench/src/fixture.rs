//! The image fixture of the `image-load` and `image-save` scenarios: a deterministic
//! docker-archive (`docker save` format) of image `bench/big:latest`, three layers holding
//! exactly [`DATA_BYTES`] bytes of incompressible pseudo-random file content, generated once
//! per run into the work directory.
//!
//! * layer 1 ("base"): [`SMALL_FILES`] small files (0.5–15.5 KiB) in 40 directories under
//!   `usr/share/bench`, and 3 shared objects of 4.5 MB under `usr/lib/bench`;
//! * layer 2 ("app"): 48 medium files (256 KiB–1 MiB) in 6 directories under `opt/app`;
//! * layer 3 ("data"): 4 big files under `data`, the last one sized so that the file content
//!   of the three layers totals [`DATA_BYTES`].
//!
//! Content comes from a xorshift64* generator with a fixed seed, every header has a fixed
//! mtime and owner, so two runs produce the same bytes (and the same image ID). The archive is
//! laid out as dockerd 20.10 writes one: entries sorted by name, `<diffid>/layer.tar` per
//! layer, `<config digest>.json`, then `manifest.json` and `repositories`.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::json;
use sha2::{Digest, Sha256};

/// The image's reference, as `RepoTags` names it.
pub const TAG: &str = "bench/big:latest";
/// File content in the three layers together, bytes (tar headers and padding come on top).
pub const DATA_BYTES: u64 = 100_000_000;
/// Small files in layer 1.
pub const SMALL_FILES: usize = 2000;
/// Layers in the image.
pub const LAYERS: usize = 3;
/// mtime of every entry: 2026-01-01T00:00:00Z.
const MTIME: u64 = 1_767_225_600;
const CREATED: &str = "2026-01-01T00:00:00Z";

/// The generated archive.
#[derive(Clone, Debug)]
pub struct Fixture {
    pub path: PathBuf,
    /// Size of the archive file, bytes.
    pub size: u64,
    /// `sha256:<hex>` of the image config: the image ID that dockerd and podman report.
    pub image_id: String,
    /// Regular files across the layers.
    pub files: usize,
    /// Size of each layer tar, bytes.
    pub layer_sizes: Vec<u64>,
    /// Time it took to generate.
    pub took: Duration,
}

impl Fixture {
    /// One line for notes: `100.7 MB, 3 layers (29.9 + 31.6 + 39.2 MB), 2059 files`.
    pub fn describe(&self) -> String {
        let layers: Vec<String> = self.layer_sizes.iter().map(|b| format!("{:.1}", *b as f64 / 1e6)).collect();
        format!(
            "archive {:.1} MB, {} layers ({} MB), {} files",
            self.size as f64 / 1e6,
            self.layer_sizes.len(),
            layers.join(" + "),
            self.files
        )
    }
}

/// xorshift64*: fast, seedable, and its output does not compress.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        Rng(seed.max(1))
    }
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    /// Uniform in `lo..hi` (`hi > lo`; the modulo bias does not matter here).
    fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next() % (hi - lo)
    }
    fn fill(&mut self, buf: &mut [u8]) {
        let mut chunks = buf.chunks_exact_mut(8);
        for c in &mut chunks {
            c.copy_from_slice(&self.next().to_le_bytes());
        }
        let rest = chunks.into_remainder();
        let last = self.next().to_le_bytes();
        let n = rest.len();
        rest.copy_from_slice(&last[..n]);
    }
}

/// A layer tar being built in memory.
struct Layer {
    tar: tar::Builder<Vec<u8>>,
    rng: Rng,
    buf: Vec<u8>,
    data: u64,
    files: usize,
}

impl Layer {
    fn new(seed: u64) -> Layer {
        Layer { tar: tar::Builder::new(Vec::new()), rng: Rng::new(seed), buf: Vec::new(), data: 0, files: 0 }
    }

    fn header(path: &str, size: u64, mode: u32, kind: tar::EntryType) -> Result<tar::Header, String> {
        let mut h = tar::Header::new_ustar();
        h.set_path(path).map_err(|e| format!("tar path {path}: {e}"))?;
        h.set_entry_type(kind);
        h.set_size(size);
        h.set_mode(mode);
        h.set_mtime(MTIME);
        h.set_uid(0);
        h.set_gid(0);
        h.set_cksum();
        Ok(h)
    }

    fn dir(&mut self, path: &str) -> Result<(), String> {
        let h = Self::header(path, 0, 0o755, tar::EntryType::Directory)?;
        self.tar.append(&h, std::io::empty()).map_err(|e| format!("tar {path}: {e}"))
    }

    fn file(&mut self, path: &str, size: u64, mode: u32) -> Result<(), String> {
        self.buf.resize(size as usize, 0);
        self.rng.fill(&mut self.buf);
        let h = Self::header(path, size, mode, tar::EntryType::Regular)?;
        self.tar.append(&h, self.buf.as_slice()).map_err(|e| format!("tar {path}: {e}"))?;
        self.data += size;
        self.files += 1;
        Ok(())
    }

    fn finish(self) -> Result<(Vec<u8>, u64, usize), String> {
        let bytes = self.tar.into_inner().map_err(|e| format!("tar: {e}"))?;
        Ok((bytes, self.data, self.files))
    }
}

fn sha256_hex(b: &[u8]) -> String {
    hex::encode(Sha256::digest(b))
}

/// The three layer tars: (tar bytes, file content bytes, regular files).
fn layers() -> Result<Vec<(Vec<u8>, u64, usize)>, String> {
    // layer 1: many small files, a few big ones
    let mut l = Layer::new(0x5eed_0001);
    for d in ["usr/", "usr/share/", "usr/share/bench/", "usr/lib/", "usr/lib/bench/"] {
        l.dir(d)?;
    }
    let per_dir = SMALL_FILES / 40;
    for d in 0..40 {
        l.dir(&format!("usr/share/bench/d{d:02}/"))?;
        for f in 0..per_dir {
            let size = l.rng.range(512, 15_872);
            l.file(&format!("usr/share/bench/d{d:02}/f{f:03}.dat"), size, 0o644)?;
        }
    }
    for i in 0..3 {
        l.file(&format!("usr/lib/bench/libbig{i}.so"), 4_500_000, 0o755)?;
    }
    let l1 = l.finish()?;

    // layer 2: medium files
    let mut l = Layer::new(0x5eed_0002);
    l.dir("opt/")?;
    l.dir("opt/app/")?;
    for d in 0..6 {
        l.dir(&format!("opt/app/m{d}/"))?;
        for f in 0..8 {
            let size = l.rng.range(256 << 10, 1 << 20);
            l.file(&format!("opt/app/m{d}/part{f}.bin"), size, 0o644)?;
        }
    }
    let l2 = l.finish()?;

    // layer 3: a few big files; the last one tops the total up to DATA_BYTES
    let mut l = Layer::new(0x5eed_0003);
    l.dir("data/")?;
    for i in 0..3 {
        l.file(&format!("data/blob{i}.bin"), 10_000_000, 0o644)?;
    }
    let rest = DATA_BYTES
        .checked_sub(l1.1 + l2.1 + l.data)
        .filter(|r| *r > 0)
        .ok_or("fixture: layers 1-3 already exceed DATA_BYTES")?;
    l.file("data/blob3.bin", rest, 0o644)?;
    let l3 = l.finish()?;
    Ok(vec![l1, l2, l3])
}

/// Appends a regular file (or, with `data == None`, a directory) to the outer archive.
fn put<W: Write>(tar: &mut tar::Builder<W>, path: &str, data: Option<&[u8]>) -> Result<(), String> {
    let h = match data {
        Some(d) => Layer::header(path, d.len() as u64, 0o644, tar::EntryType::Regular)?,
        None => Layer::header(path, 0, 0o755, tar::EntryType::Directory)?,
    };
    tar.append(&h, data.unwrap_or(&[])).map_err(|e| format!("archive {path}: {e}"))
}

/// Generates the archive at `dir/bench-big.tar`.
pub fn generate(dir: &Path) -> Result<Fixture, String> {
    let t0 = Instant::now();
    std::fs::create_dir_all(dir).map_err(|e| format!("mkdir {}: {e}", dir.display()))?;
    let layers = layers()?;
    let diff_hex: Vec<String> = layers.iter().map(|(b, _, _)| sha256_hex(b)).collect();
    let data: u64 = layers.iter().map(|l| l.1).sum();
    debug_assert_eq!(data, DATA_BYTES);
    let files: usize = layers.iter().map(|l| l.2).sum();

    let history: Vec<serde_json::Value> = [
        format!("/bin/sh -c #(nop) ADD base: {SMALL_FILES} small files + 3 x 4.5 MB in /usr"),
        "/bin/sh -c #(nop) COPY dir:app in /opt/app (48 files, 256 KiB-1 MiB)".to_string(),
        "/bin/sh -c #(nop) COPY dir:data in /data (4 big files)".to_string(),
    ]
    .into_iter()
    .map(|by| json!({"created": CREATED, "created_by": by}))
    .chain(std::iter::once(
        json!({"created": CREATED, "created_by": "/bin/sh -c #(nop)  CMD [\"/bin/sh\"]", "empty_layer": true}),
    ))
    .collect();
    let config = json!({
        "architecture": "amd64",
        "os": "linux",
        "created": CREATED,
        "config": {
            "Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
            "Cmd": ["/bin/sh"],
            "WorkingDir": "/",
            "Labels": {"org.wharf.bench": "image-load/image-save fixture"},
        },
        "rootfs": {"type": "layers", "diff_ids": diff_hex.iter().map(|h| format!("sha256:{h}")).collect::<Vec<_>>()},
        "history": history,
    });
    let config = serde_json::to_vec(&config).map_err(|e| e.to_string())?;
    let config_hex = sha256_hex(&config);
    let layer_paths: Vec<String> = diff_hex.iter().map(|h| format!("{h}/layer.tar")).collect();
    let manifest = serde_json::to_vec(&json!([{
        "Config": format!("{config_hex}.json"),
        "RepoTags": [TAG],
        "Layers": layer_paths,
    }]))
    .map_err(|e| e.to_string())?;
    let (repo, tag) = TAG.rsplit_once(':').expect("TAG has a tag");
    let repositories =
        serde_json::to_vec(&json!({ repo: { tag: diff_hex.last().expect("3 layers") } })).map_err(|e| e.to_string())?;

    // dockerd 20.10's order: the save directory's entries sorted by name
    enum Item<'a> {
        Layer(&'a str, &'a [u8]),
        Config,
    }
    let mut items: Vec<(String, Item)> =
        diff_hex.iter().zip(&layers).map(|(h, l)| (h.clone(), Item::Layer(h, &l.0))).collect();
    items.push((format!("{config_hex}.json"), Item::Config));
    items.sort_by(|a, b| a.0.cmp(&b.0));

    let path = dir.join("bench-big.tar");
    let f = File::create(&path).map_err(|e| format!("create {}: {e}", path.display()))?;
    let mut tar = tar::Builder::new(BufWriter::with_capacity(1 << 20, f));
    for (name, item) in &items {
        match item {
            Item::Layer(h, bytes) => {
                put(&mut tar, &format!("{h}/"), None)?;
                put(&mut tar, &format!("{h}/VERSION"), Some(b"1.0"))?;
                put(&mut tar, &format!("{h}/layer.tar"), Some(bytes))?;
            }
            Item::Config => put(&mut tar, name, Some(&config))?,
        }
    }
    put(&mut tar, "manifest.json", Some(&manifest))?;
    put(&mut tar, "repositories", Some(&repositories))?;
    let w = tar.into_inner().map_err(|e| format!("archive: {e}"))?;
    w.into_inner().map_err(|e| format!("write {}: {e}", path.display()))?;
    let size = std::fs::metadata(&path).map_err(|e| format!("stat {}: {e}", path.display()))?.len();
    Ok(Fixture {
        path,
        size,
        image_id: format!("sha256:{config_hex}"),
        files,
        layer_sizes: layers.iter().map(|l| l.0.len() as u64).collect(),
        took: t0.elapsed(),
    })
}

/// What a `docker save`-style archive at `path` holds: (`RepoTags`, number of layers) of its
/// first `manifest.json` entry. Reads the whole file (untimed sanity check of a saved image).
pub fn inspect_archive(path: &Path) -> Result<(Vec<String>, usize), String> {
    let f = File::open(path).map_err(|e| format!("open {}: {e}", path.display()))?;
    let mut ar = tar::Archive::new(std::io::BufReader::with_capacity(1 << 20, f));
    let entries = ar.entries().map_err(|e| format!("{}: {e}", path.display()))?;
    for e in entries {
        let mut e = e.map_err(|e| format!("{}: {e}", path.display()))?;
        let name = e.path().map_err(|e| e.to_string())?.to_string_lossy().into_owned();
        if name.trim_start_matches("./") == "manifest.json" {
            let v: serde_json::Value =
                serde_json::from_reader(&mut e).map_err(|e| format!("{}: manifest.json: {e}", path.display()))?;
            let first = v.get(0).ok_or("manifest.json: empty")?;
            let tags = first["RepoTags"]
                .as_array()
                .map(|a| a.iter().filter_map(|t| t.as_str().map(str::to_string)).collect())
                .unwrap_or_default();
            let layers = first["Layers"].as_array().map_or(0, Vec::len);
            return Ok((tags, layers));
        }
    }
    Err(format!("{}: no manifest.json (not a docker-archive)", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rng_fill_is_deterministic_and_covers_tails() {
        let (mut a, mut b) = (vec![0u8; 13], vec![0u8; 13]);
        Rng::new(7).fill(&mut a);
        Rng::new(7).fill(&mut b);
        assert_eq!(a, b);
        assert!(a[8..].iter().any(|&x| x != 0));
    }
}
