//! Deployment packages: `Code.ZipFile` is either the component's raw bytes or a zip holding the
//! `.wasm` named by `Handler`. Zips are read defensively: no path traversal, no symlinks, no
//! decompression bombs, and Lambda's size limits.

use std::io::Read;

use crate::RegistryError;

/// Lambda's limit on a zipped deployment package uploaded directly.
pub const MAX_ZIPPED_BYTES: usize = 50 * 1024 * 1024;
/// Lambda's limit on the unzipped size of a deployment package.
pub const MAX_UNZIPPED_BYTES: u64 = 250 * 1024 * 1024;
/// Compression ratio beyond which an entry is treated as a decompression bomb.
const MAX_COMPRESSION_RATIO: u64 = 1000;

/// The component inside a deployment package.
pub fn extract_wasm(package: &[u8], handler: &str) -> Result<Vec<u8>, RegistryError> {
    if package.len() > MAX_ZIPPED_BYTES {
        return Err(RegistryError::TooLarge(format!(
            "Unzipped size must be smaller than {MAX_UNZIPPED_BYTES} bytes and zipped size must be smaller than {MAX_ZIPPED_BYTES} bytes"
        )));
    }
    if package.starts_with(b"\0asm") {
        return Ok(package.to_vec());
    }
    if !package.starts_with(b"PK") {
        return Err(invalid(
            "Could not unzip uploaded file. Please check your file, then try to upload again. The code must be a WebAssembly component or a zip holding one.",
        ));
    }
    let mut archive = open_zip(package)?;
    let names = check_entries(&mut archive)?;
    let wanted = names
        .iter()
        .position(|name| name.trim_start_matches("./") == handler);
    let index = wanted.ok_or_else(|| {
        invalid(&format!(
            "The deployment package has no file named by the Handler ({handler:?}): it must hold the function's .wasm under that name"
        ))
    })?;
    let entry = archive
        .by_index(index)
        .map_err(|e| invalid(&format!("Could not unzip uploaded file: {e}")))?;
    let mut wasm = Vec::new();
    // Read one byte past the declared size: a lying header cannot make this read unbounded.
    entry
        .take(MAX_UNZIPPED_BYTES + 1)
        .read_to_end(&mut wasm)
        .map_err(|e| invalid(&format!("Could not unzip uploaded file: {e}")))?;
    if wasm.len() as u64 > MAX_UNZIPPED_BYTES {
        return Err(RegistryError::TooLarge(format!(
            "Unzipped size must be smaller than {MAX_UNZIPPED_BYTES} bytes"
        )));
    }
    Ok(wasm)
}

/// Opens a zip, or says it is not one.
fn open_zip(bytes: &[u8]) -> Result<zip::ZipArchive<std::io::Cursor<&[u8]>>, RegistryError> {
    zip::ZipArchive::new(std::io::Cursor::new(bytes))
        .map_err(|e| invalid(&format!("Could not unzip uploaded file: {e}")))
}

/// Checks every entry (no traversal, no symlinks, no bombs, Lambda's unzipped limit) and returns
/// their names, in archive order.
fn check_entries(
    archive: &mut zip::ZipArchive<std::io::Cursor<&[u8]>>,
) -> Result<Vec<String>, RegistryError> {
    let mut total: u64 = 0;
    let mut names = Vec::with_capacity(archive.len());
    for i in 0..archive.len() {
        let entry = archive
            .by_index_raw(i)
            .map_err(|e| invalid(&format!("Could not unzip uploaded file: {e}")))?;
        let name = entry
            .name()
            .map_err(|e| invalid(&format!("Could not unzip uploaded file: {e}")))?
            .to_string();
        if entry.enclosed_name().is_none() {
            return Err(invalid(&format!(
                "The zip entry {name:?} points outside the package"
            )));
        }
        if entry.is_symlink() {
            return Err(invalid(&format!(
                "The zip entry {name:?} is a symbolic link, which lambkin does not accept"
            )));
        }
        total = total.saturating_add(entry.size());
        if entry.size()
            > entry
                .compressed_size()
                .max(1)
                .saturating_mul(MAX_COMPRESSION_RATIO)
        {
            return Err(invalid(&format!(
                "The zip entry {name:?} expands too much to be real code"
            )));
        }
        names.push(name);
    }
    if total > MAX_UNZIPPED_BYTES {
        return Err(RegistryError::TooLarge(format!(
            "Unzipped size must be smaller than {MAX_UNZIPPED_BYTES} bytes"
        )));
    }
    Ok(names)
}

/// Checks a layer archive as a deployment package is checked (it must be a zip).
pub fn check_layer(bytes: &[u8]) -> Result<(), RegistryError> {
    if bytes.len() > MAX_ZIPPED_BYTES {
        return Err(RegistryError::TooLarge(format!(
            "Zipped size must be smaller than {MAX_ZIPPED_BYTES} bytes"
        )));
    }
    check_entries(&mut open_zip(bytes)?).map(|_| ())
}

/// Unpacks checked layer archives, in order, into `dest` (later layers win, as in Lambda's /opt).
pub fn extract_layers(archives: &[bytes::Bytes], dest: &std::path::Path) -> Result<(), RegistryError> {
    for bytes in archives {
        let mut archive = open_zip(bytes)?;
        check_entries(&mut archive)?;
        for i in 0..archive.len() {
            let mut entry = archive
                .by_index(i)
                .map_err(|e| invalid(&format!("Could not unzip layer: {e}")))?;
            let Some(relative) = entry.enclosed_name() else {
                return Err(invalid("A layer entry points outside the package"));
            };
            let path = dest.join(relative);
            let io = |e: std::io::Error| RegistryError::Storage(format!("unpacking a layer: {e}"));
            if entry.is_dir() {
                std::fs::create_dir_all(&path).map_err(io)?;
                continue;
            }
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent).map_err(io)?;
            }
            let mut file = std::fs::File::create(&path).map_err(io)?;
            std::io::copy(&mut (&mut entry).take(MAX_UNZIPPED_BYTES), &mut file).map_err(io)?;
        }
    }
    Ok(())
}

fn invalid(message: &str) -> RegistryError {
    RegistryError::Invalid(message.to_string())
}

/// Unpacks checked archives, in order, at `dest` under `root` (staged beside it, then renamed, so
/// a reader sees all or nothing), unless it is there already. Off the runtime's threads.
pub async fn unpack_once(
    archives: Vec<bytes::Bytes>,
    root: std::path::PathBuf,
    dest: std::path::PathBuf,
) -> Result<std::path::PathBuf, RegistryError> {
    tokio::task::spawn_blocking(move || {
        let io =
            |e: std::io::Error| RegistryError::Storage(format!("unpacking into {}: {e}", root.display()));
        if dest.exists() {
            return Ok(dest);
        }
        std::fs::create_dir_all(&root).map_err(io)?;
        let staging = tempfile::Builder::new()
            .prefix(".staging-")
            .tempdir_in(&root)
            .map_err(io)?;
        extract_layers(&archives, staging.path())?;
        match std::fs::rename(staging.keep(), &dest) {
            Ok(()) => Ok(dest),
            // Another request unpacked the same archives first: use theirs.
            Err(_) if dest.exists() => Ok(dest),
            Err(e) => Err(io(e)),
        }
    })
    .await
    .map_err(|e| RegistryError::Storage(format!("unpacking: {e}")))?
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn zip_of(entries: &[(&str, &[u8])]) -> Vec<u8> {
        let mut writer = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        let options =
            zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
        for (name, bytes) in entries {
            writer.start_file(*name, options).expect("start");
            writer.write_all(bytes).expect("write");
        }
        writer.finish().expect("finish").into_inner()
    }

    #[test]
    fn raw_wasm_and_zipped_wasm_are_both_accepted() {
        let wasm = b"\0asm\x0d\0\x01\0rest".to_vec();
        assert_eq!(extract_wasm(&wasm, "anything").expect("raw"), wasm);
        let zipped = zip_of(&[("README", b"hi"), ("fn.wasm", &wasm)]);
        assert_eq!(extract_wasm(&zipped, "fn.wasm").expect("zipped"), wasm);
    }

    #[test]
    fn bad_packages_are_refused() {
        assert!(matches!(
            extract_wasm(b"hello", "x"),
            Err(RegistryError::Invalid(_))
        ));
        let zipped = zip_of(&[("other.wasm", b"\0asm")]);
        assert!(extract_wasm(&zipped, "fn.wasm").is_err());
        let traversal = zip_of(&[("../evil.wasm", b"\0asm")]);
        let err = extract_wasm(&traversal, "../evil.wasm").expect_err("traversal");
        assert!(err.to_string().contains("outside"), "{err}");
        let huge = vec![0u8; MAX_ZIPPED_BYTES + 1];
        assert!(matches!(
            extract_wasm(&huge, "x"),
            Err(RegistryError::TooLarge(_))
        ));
    }

    #[test]
    fn a_decompression_bomb_is_refused() {
        let mut writer = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        let options =
            zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
        writer.start_file("fn.wasm", options).expect("start");
        writer.write_all(&vec![0u8; 20 << 20]).expect("write");
        let bomb = writer.finish().expect("finish").into_inner();
        let err = extract_wasm(&bomb, "fn.wasm").expect_err("bomb");
        assert!(err.to_string().contains("expands too much"), "{err}");
    }
}
