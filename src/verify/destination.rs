//! The orchestrator's own verification: re-list the destination over HTTP (not trusting the
//! worker's word) and compare it with what the plan expects there.

use serde::{Deserialize, Serialize};

use crate::credentials::Credentials;
use crate::hub::Hubs;
use crate::manifest::Manifest;
use crate::plan::{PathFilter, Plan};
use crate::repo_ref::RepoRef;
use crate::report::Verification;
use crate::verify::compare::compare;

/// What a later `hubferry logs` needs to verify a detached run (stored in the run record; no
/// secrets: credentials are read from the environment again).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct VerifySpec {
    pub dest: RepoRef,
    pub expected: Manifest,
    /// With `--delete`, files at the destination that the source lacks (within the
    /// include/exclude scope) are a failure.
    pub delete: bool,
    #[serde(default)]
    pub include: Vec<String>,
    #[serde(default)]
    pub exclude: Vec<String>,
}

impl VerifySpec {
    pub fn from_plan(plan: &Plan) -> Self {
        Self {
            dest: plan.dest.clone(),
            expected: plan.expected_manifest(),
            delete: plan.options.delete,
            include: plan.options.include.clone(),
            exclude: plan.options.exclude.clone(),
        }
    }

    /// Judges a listing of the destination against the expected manifest. Extras fail only with
    /// `delete`, and only within the include/exclude scope (files outside it are not ours).
    pub fn judge(&self, actual: &Manifest) -> Verification {
        let c = compare(&self.expected, actual);
        let scope =
            PathFilter::new(&self.include, &self.exclude).unwrap_or_else(|_| PathFilter::all());
        let extra_fails = self.delete && c.extra.iter().any(|p| scope.matches(p));
        Verification {
            ok: c.ok() && !extra_fails,
            matched: c.matched as u64,
            mismatched: c.mismatched,
            missing: c.missing,
            extra: c.extra,
            error: None,
        }
    }
}

/// Lists the destination's files now.
pub async fn list_destination(creds: &Credentials, dest: &RepoRef) -> anyhow::Result<Manifest> {
    let repo_type = dest.repo_type_or_model();
    let revision = dest
        .revision
        .clone()
        .unwrap_or_else(|| dest.platform.default_revision().to_owned());
    let files = Hubs::new(creds)
        .list_files(dest.platform, repo_type, &dest.id, &revision)
        .await?;
    Ok(Manifest::from_entries(files))
}

/// Re-lists the destination and compares; a listing failure is an unverified result, not a crash.
pub async fn destination(creds: &Credentials, spec: &VerifySpec) -> Verification {
    match list_destination(creds, &spec.dest).await {
        Ok(actual) => spec.judge(&actual),
        Err(err) => Verification {
            ok: false,
            error: Some(format!(
                "listing {}:{}: {err:#}",
                spec.dest.platform.as_str(),
                spec.dest.id
            )),
            ..Default::default()
        },
    }
}

/// Verification for a stored run record (credentials from the environment, as at launch).
pub async fn from_record(spec: &serde_json::Value) -> Verification {
    let spec: VerifySpec = match serde_json::from_value(spec.clone()) {
        Ok(spec) => spec,
        Err(err) => {
            return Verification {
                error: Some(format!(
                    "the run record has no usable verification data: {err}"
                )),
                ..Default::default()
            }
        }
    };
    match Credentials::from_env() {
        Ok(creds) => destination(&creds, &spec).await,
        Err(err) => Verification {
            error: Some(format!("reading credentials: {err}")),
            ..Default::default()
        },
    }
}
