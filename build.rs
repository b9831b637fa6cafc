//! Rebuilds when anything under `modal/` changes: the app template and the worker package are
//! embedded in the binary with `include_dir!`, which only tracks the files it saw last time.

fn main() {
    println!("cargo:rerun-if-changed=modal");
}
