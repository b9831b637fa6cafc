//! Embeds the `modal/` tree (the app template and the worker package) into the binary.
//!
//! Writes `$OUT_DIR/modal_files.rs`: one `(relative path, include_bytes!)` entry per source file,
//! skipping `__pycache__` and `*.pyc`. Tracking files one by one (not the directory) matters:
//! importing the worker from the checkout writes bytecode under `modal/`, and a directory watch
//! would then rebuild the crate (and embed the caches) after every test run. A new file is picked
//! up on the next change to any tracked file or to this script; `render::tests` fails until then.

use std::path::{Path, PathBuf};

fn main() {
    let root = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap()).join("modal");
    let mut files = Vec::new();
    collect(&root, &root, &mut files);
    files.sort();
    let mut out = String::from("pub static MODAL_FILES: &[(&str, &[u8])] = &[\n");
    for (rel, abs) in &files {
        println!("cargo:rerun-if-changed={}", abs.display());
        out.push_str(&format!(
            "    ({rel:?}, include_bytes!({:?})),\n",
            abs.display().to_string()
        ));
    }
    out.push_str("];\n");
    println!("cargo:rerun-if-changed=build.rs");
    let dest = PathBuf::from(std::env::var("OUT_DIR").unwrap()).join("modal_files.rs");
    std::fs::write(dest, out).unwrap();
}

/// Source files under `dir`, as (path relative to `root` with `/` separators, absolute path).
fn collect(root: &Path, dir: &Path, files: &mut Vec<(String, PathBuf)>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if path.is_dir() {
            if name != "__pycache__" {
                collect(root, &path, files);
            }
        } else if !name.ends_with(".pyc") {
            let rel = path.strip_prefix(root).unwrap().components();
            let rel: Vec<_> = rel
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect();
            files.push((rel.join("/"), path));
        }
    }
}
