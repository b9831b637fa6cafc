//! Finding the external programs hubferry drives: `modal`, `git`, `git-lfs` and a Python that has
//! the worker's packages.
//!
//! Decision: hubferry does not install anything behind the user's back. Tools are found the way
//! users have them (overrides `HUBFERRY_MODAL` / `HUBFERRY_PYTHON`, then the environment hubferry
//! itself was installed into, then `PATH`); when one is missing, the error names it and gives the
//! exact command that fixes it. A checkout's `.venv` is not assumed.
//!
//! "Installed into": `pip install hubferry` / `uv tool install hubferry` put the binary in a
//! Python environment's `bin/`, next to that environment's `python` and `modal` (the package
//! depends on `modal`, and `hubferry[local]` on the worker's hub clients). Those are the ones the
//! user chose for hubferry, so they come before whatever `PATH` happens to hold.

use std::path::{Path, PathBuf};

use crate::error::{CliError, ExitStatus};

/// Python packages the worker imports, with the versions it is tested with (also the Modal image).
/// The one source of these pins: `modal/app.py`'s defaults, `requirements/requirements.in` and the
/// README repeat them, and `pins_elsewhere_agree_with_these` fails when one of them drifts.
pub const WORKER_PACKAGES: &[(&str, &str, &str)] = &[
    // (pip name, import name, pinned version)
    ("huggingface_hub", "huggingface_hub", "2.4.0"),
    ("hf_xet", "hf_xet", "1.8.0"),
    ("modelscope", "modelscope", "1.40.2"),
];

/// The `modal` client version hubferry is tested with.
pub const MODAL_VERSION: &str = "1.6.4";

/// `pip install …` line for the worker's packages.
pub fn worker_pip_install() -> String {
    let pins: Vec<String> = WORKER_PACKAGES
        .iter()
        .map(|(name, _, version)| format!("{name}=={version}"))
        .collect();
    format!("python3 -m pip install {}", pins.join(" "))
}

/// Looks `name` up on `PATH` (an executable file; `PATHEXT` applies on Windows).
fn on_path(name: &str) -> Option<PathBuf> {
    which::which(name).ok()
}

fn from_override(var: &str) -> Result<Option<PathBuf>, CliError> {
    match std::env::var_os(var) {
        Some(value) if !value.is_empty() => {
            let path = PathBuf::from(&value);
            // A bare name is searched on PATH, a path with a separator is checked as it is.
            let resolved = if path.components().count() == 1 {
                on_path(&path.to_string_lossy())
            } else {
                which::which(&path).ok().map(|_| path.clone())
            };
            resolved.map(Some).ok_or_else(|| {
                CliError::bad_input(format!(
                    "{var}={} is not an executable file",
                    path.display()
                ))
                .with_hint(format!(
                    "point {var} at the program, or unset it to search PATH"
                ))
            })
        }
        _ => Ok(None),
    }
}

/// `name` in the directory the running hubferry binary sits in (a Python environment's `bin/` when
/// it was installed from the wheel). The path is not canonicalized: a venv's `python` is a symlink
/// that only means "this venv" when run by its own path.
fn beside_own_binary(name: &str) -> Option<PathBuf> {
    let exe = std::env::current_exe().ok()?;
    let cand = exe.parent()?.join(name);
    // `which` on a path checks that it is an executable file without resolving the symlink.
    which::which(&cand).ok().map(|_| cand)
}

/// The `modal` CLI: `$HUBFERRY_MODAL`, else the one installed beside hubferry, else `modal` on PATH.
pub fn modal() -> Result<PathBuf, CliError> {
    if let Some(path) = from_override("HUBFERRY_MODAL")? {
        return Ok(path);
    }
    beside_own_binary("modal")
        .or_else(|| on_path("modal"))
        .ok_or_else(|| {
            CliError::new(ExitStatus::Failure, "the `modal` CLI was not found on PATH").with_hint(
                format!(
                "install it with `python3 -m pip install modal=={MODAL_VERSION}` and log in with \
             `modal token new`, set HUBFERRY_MODAL to its path, or use --backend local"
            ),
            )
        })
}

/// Fails fast (exit 3) when Modal has no credentials at all: neither `MODAL_TOKEN_ID` +
/// `MODAL_TOKEN_SECRET` nor a config file (`$MODAL_CONFIG_PATH`, else `~/.modal.toml`). Whether
/// Modal accepts them is `doctor`'s job (`modal token info` makes a server call).
pub fn check_modal_credentials() -> Result<(), CliError> {
    let set = |name: &str| std::env::var_os(name).is_some_and(|v| !v.is_empty());
    if set("MODAL_TOKEN_ID") && set("MODAL_TOKEN_SECRET") {
        return Ok(());
    }
    let config = std::env::var_os("MODAL_CONFIG_PATH")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".modal.toml")));
    if config.is_some_and(|p| p.is_file()) {
        return Ok(());
    }
    Err(CliError::new(
        ExitStatus::Credentials,
        "no Modal credentials (MODAL_TOKEN_ID/MODAL_TOKEN_SECRET or ~/.modal.toml)",
    )
    .with_hint("run `modal token new` (or export MODAL_TOKEN_ID and MODAL_TOKEN_SECRET), or use --backend local"))
}

/// `git` on PATH.
pub fn git() -> Option<PathBuf> {
    on_path("git")
}

/// `git-lfs` on PATH.
pub fn git_lfs() -> Option<PathBuf> {
    on_path("git-lfs")
}

/// A Python for the local worker: `$HUBFERRY_PYTHON`, else the Python hubferry was installed into
/// (`python3`/`python` beside the binary), else the first of `python3`, `python` on PATH, whichever
/// first can import the worker's packages.
pub async fn python() -> Result<PathBuf, CliError> {
    if let Some(path) = from_override("HUBFERRY_PYTHON")? {
        if let Err(missing) = missing_packages(&path).await {
            return Err(CliError::new(
                ExitStatus::Failure,
                format!(
                    "HUBFERRY_PYTHON={} lacks the worker's packages: {missing}",
                    path.display()
                ),
            )
            .with_hint(format!(
                "install them into that Python: {}",
                worker_pip_install().replace("python3", &path.display().to_string())
            )));
        }
        return Ok(path);
    }
    let mut found_any = false;
    let own = ["python3", "python"].map(beside_own_binary);
    let found_on_path = ["python3", "python"].map(on_path);
    for path in own.into_iter().chain(found_on_path).flatten() {
        found_any = true;
        if missing_packages(&path).await.is_ok() {
            return Ok(path);
        }
    }
    let what = if found_any {
        "no Python beside hubferry or on PATH has the worker's packages (huggingface_hub, modelscope)"
    } else {
        "no Python (python3) found on PATH"
    };
    Err(CliError::new(ExitStatus::Failure, what).with_hint(format!(
        "install Python 3.10+ and the worker's packages: `{}` (or install hubferry with them: \
         `pip install 'hubferry[local]'`), or point HUBFERRY_PYTHON at a Python that has them, \
         or use --backend modal",
        worker_pip_install()
    )))
}

/// Ok when `python` runs and finds every worker package; else the comma-separated missing names.
pub async fn missing_packages(python: &Path) -> Result<(), String> {
    let imports: Vec<&str> = WORKER_PACKAGES.iter().map(|(_, m, _)| *m).collect();
    // find_spec does not import the packages, so this check stays fast (modelscope imports slowly).
    let script = format!(
        "import importlib.util, sys\n\
         missing = [m for m in {imports:?} if importlib.util.find_spec(m) is None]\n\
         print(','.join(missing))\n\
         sys.exit(1 if missing or sys.version_info < (3, 10) else 0)"
    );
    let out = tokio::process::Command::new(python)
        .arg("-c")
        .arg(script)
        .stdin(std::process::Stdio::null())
        .output()
        .await
        .map_err(|e| format!("could not run {}: {e}", python.display()))?;
    if out.status.success() {
        Ok(())
    } else {
        let text = String::from_utf8_lossy(&out.stdout).trim().to_owned();
        Err(if text.is_empty() {
            "Python 3.10 or newer".to_owned()
        } else {
            text
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every `name==version` of a pinned package in `text`.
    fn pins_in<'a>(text: &'a str, name: &str) -> Vec<&'a str> {
        let re = regex::Regex::new(&format!(r"\b{}==([0-9][0-9A-Za-z.]*)", regex::escape(name)))
            .unwrap();
        re.captures_iter(text)
            .map(|c| c.get(1).unwrap().as_str())
            .collect()
    }

    #[test]
    fn pins_elsewhere_agree_with_these() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let read = |rel: &str| std::fs::read_to_string(root.join(rel)).unwrap();
        let mut pins: Vec<(&str, &str)> =
            WORKER_PACKAGES.iter().map(|(n, _, v)| (*n, *v)).collect();
        pins.push(("modal", MODAL_VERSION));
        for (file, must_name_all) in [
            ("requirements/requirements.in", true),
            ("README.md", true),
            ("modal/app.py", false),
        ] {
            let text = read(file);
            for (name, version) in &pins {
                let found = pins_in(&text, name);
                // The Modal image installs the worker's packages, not the modal client.
                if must_name_all || *name != "modal" {
                    assert!(!found.is_empty(), "{file} does not pin {name}");
                }
                for v in found {
                    assert_eq!(
                        v, *version,
                        "{file} pins {name}=={v}, tools.rs says {version}"
                    );
                }
            }
        }
    }

    #[test]
    fn pip_line_pins_every_package() {
        let line = worker_pip_install();
        assert!(line.contains("huggingface_hub==2.4.0"));
        assert!(line.contains("modelscope==1.40.2"));
    }

    /// The wheel's dependencies (pyproject.toml) are the pins the worker and Modal image use.
    #[test]
    fn python_package_pins_match_the_worker_pins() {
        let pyproject: toml::Table = include_str!("../pyproject.toml").parse().unwrap();
        let project = &pyproject["project"];
        let pins = |list: &toml::Value| -> Vec<String> {
            let items = list.as_array().unwrap().iter();
            items.map(|v| v.as_str().unwrap().to_owned()).collect()
        };
        assert_eq!(
            pins(&project["dependencies"]),
            [format!("modal=={MODAL_VERSION}")]
        );
        let worker: Vec<String> = WORKER_PACKAGES
            .iter()
            .map(|(name, _, version)| format!("{name}=={version}"))
            .collect();
        assert_eq!(pins(&project["optional-dependencies"]["local"]), worker);
    }

    #[test]
    fn which_finds_sh() {
        assert!(on_path("sh").is_some());
        assert!(on_path("surely-not-a-real-program-hubferry").is_none());
    }
}
