//! `hubferry mcp`: an MCP server over stdio (rmcp). Each tool runs this same binary as a child
//! with `--json` (see [`child`]), so a tool's result is exactly what the command prints and the
//! server shares no state with the commands beyond their command lines. See docs/mcp.md.

mod child;
pub mod tools;

use std::collections::BTreeMap;
use std::path::PathBuf;

use rmcp::handler::server::common::schema_for_type;
use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, ContentBlock, ErrorData,
    Implementation, InitializeResult, ListToolsResult, PaginatedRequestParams,
    ProgressNotificationParam, ProgressToken, ServerCapabilities, Tool, ToolAnnotations,
};
use rmcp::service::RequestContext;
use rmcp::{Peer, RoleServer, ServerHandler, ServiceExt};
use schemars::JsonSchema;
use serde::de::DeserializeOwned;
use serde_json::{json, Value};

use crate::printer::Printer;
use crate::schemas::ErrorObject;
use tools::Refusal;

/// Serves MCP on stdin/stdout until the client closes the connection.
pub async fn serve(state_dir: Option<PathBuf>, log: Printer) -> anyhow::Result<()> {
    let exe = std::env::current_exe()?;
    let server = Server {
        exe,
        state_dir,
        log,
    };
    let running = server
        .serve(rmcp::transport::stdio())
        .await
        .map_err(|e| anyhow::anyhow!("MCP handshake failed: {e}"))?;
    running.waiting().await?;
    Ok(())
}

struct Server {
    exe: PathBuf,
    state_dir: Option<PathBuf>,
    /// stderr: the MCP client's log of this server (stdout is the protocol).
    log: Printer,
}

/// One tool: its name, what an agent is told about it, its argument type's schema, and hints.
fn tool<T: JsonSchema + 'static>(name: &'static str, description: &'static str) -> Tool {
    Tool::new(name, description, schema_for_type::<T>())
}

fn tool_list() -> Vec<Tool> {
    use tools::*;
    let read_only = |t: Tool| t.with_annotations(ToolAnnotations::new().read_only(true));
    let changes = |t: Tool, destructive: bool| {
        t.with_annotations(
            ToolAnnotations::new()
                .read_only(false)
                .destructive(destructive),
        )
    };
    vec![
        read_only(tool::<DoctorArgs>(
            "doctor",
            "Check tokens (user, organizations), endpoints, Modal credentials and local tools. \
             Run first; each failed check carries its fix.",
        )),
        read_only(tool::<TransferArgs>(
            "plan",
            "Dry run of a migration: what would move (files, bytes), what is skipped, ETA, the \
             destination's visibility, warnings. Nothing changes. Show it to the user before `migrate`.",
        )),
        changes(
            tool::<MigrateArgs>(
                "migrate",
                "Migrate one repository to the other hub and verify it. Attached: progress \
                 notifications while workers run, then the report. With detach: the run id at \
                 once (follow with run_logs follow=true). delete, or public for a private/gated \
                 source, need confirm equal to the destination's ns/name.",
            ),
            false,
        ),
        changes(
            tool::<BatchArgs>(
                "batch",
                "Migrate several repositories, each to its own destination (repos: [{source, \
                 dest, confirm}]), a few at a time, each verified; progress notifications while \
                 workers run, then the batch report. With delete, or public for private/gated \
                 sources, every repository is planned first and the whole call is refused before \
                 anything moves unless each one that would delete or widen has confirm equal to \
                 its destination's ns/name.",
            ),
            false,
        ),
        read_only(tool::<NoArgs>(
            "runs",
            "List detached runs recorded on this machine, newest first.",
        )),
        read_only(tool::<RunArgs>(
            "run_status",
            "State of a detached run and its Modal apps.",
        )),
        read_only(tool::<RunLogsArgs>(
            "run_logs",
            "Progress of a detached run; with follow=true it follows the run to its end \
             (progress notifications) and returns the verified report.",
        )),
        changes(
            tool::<RunArgs>(
                "stop_run",
                "Stop a detached run (its Modal apps); committed files stay.",
            ),
            false,
        ),
        read_only(tool::<VerifyArgs>(
            "verify",
            "Compare two copies of a repository file by file (sha256, git blob id, or content).",
        )),
        read_only(tool::<InventoryArgs>(
            "inventory",
            "List every repository of a user or organization; with check_backup, each one's copy \
             on the other hub: missing, partial or verified.",
        )),
        read_only(tool::<SyncArgs>(
            "sync_plan",
            "Each mirror's plan from a mirrors file, nothing moves.",
        )),
        changes(
            tool::<SyncArgs>(
                "sync",
                "Bring every mirror of a mirrors file up to date (incremental), one report per mirror.",
            ),
            false,
        ),
        changes(
            tool::<RetireArgs>(
                "retire",
                "Delete a repository after a fresh verify proves its copy identical. Refused \
                 unless confirm is the exact ns/name of source.",
            ),
            true,
        ),
    ]
}

/// The arguments as `T`; a name the tool's schema does not list is refused (a misspelt `confirm`
/// must not pass silently, and no argument may smuggle in a token field).
fn parse<T: DeserializeOwned + JsonSchema + 'static>(
    request: &CallToolRequestParams,
) -> Result<T, ErrorData> {
    let map = request.arguments.clone().unwrap_or_default();
    let schema = schema_for_type::<T>();
    let known = schema.get("properties").and_then(Value::as_object);
    if let Some(unknown) = map
        .keys()
        .find(|k| !known.is_some_and(|p| p.contains_key(*k)))
    {
        return Err(ErrorData::invalid_params(
            format!("{}: unknown argument `{unknown}`", request.name),
            None,
        ));
    }
    let args = Value::Object(map);
    serde_json::from_value(args).map_err(|e| {
        ErrorData::invalid_params(format!("{}: invalid arguments: {e}", request.name), None)
    })
}

/// A refusal as the CLI's own `error` object (exit class 2: bad input, nothing ran).
fn refused(r: Refusal) -> CallToolResult {
    refused_after(Vec::new(), r)
}

/// A refusal after the dry runs it was decided on: their plans, then the `error` object.
fn refused_after(mut objects: Vec<Value>, r: Refusal) -> CallToolResult {
    let error = ErrorObject::new(2, &r.message, vec![], Some(r.hint));
    objects.push(error.to_value());
    result_of(2, objects)
}

/// The tool result: `structuredContent` is `{exit_code, result, objects}` with `result` the last
/// object the command printed (its report, or its `error` with `hint`) and `objects` all of them;
/// each object is also one text block, as the command printed it.
fn result_of(exit_code: i32, objects: Vec<Value>) -> CallToolResult {
    let content: Vec<ContentBlock> = objects
        .iter()
        .map(|o| ContentBlock::text(o.to_string()))
        .collect();
    let result = objects.last().cloned().unwrap_or(Value::Null);
    let structured = json!({"exit_code": exit_code, "result": result, "objects": objects});
    let mut out = if exit_code == 0 {
        CallToolResult::structured(structured)
    } else {
        CallToolResult::structured_error(structured)
    };
    out.content = content;
    if out.content.is_empty() {
        out.content
            .push(ContentBlock::text(format!("exit code {exit_code}")));
    }
    out
}

/// The subcommand of a child's argv (after any `--state-dir DIR`).
fn argv_command(argv: &[String]) -> &str {
    let skip = if argv.first().is_some_and(|a| a == "--state-dir") {
        2
    } else {
        0
    };
    argv.get(skip).map_or("", String::as_str)
}

/// Sums the jobs' byte counts into MCP progress notifications (sent only when the total moved
/// forward: MCP progress must increase).
struct Progress {
    peer: Peer<RoleServer>,
    token: Option<ProgressToken>,
    jobs: BTreeMap<String, (u64, u64, u64, u64)>,
    last: f64,
}

impl Progress {
    fn on_event(&mut self, event: &Value) {
        let Some(token) = self.token.clone() else {
            return;
        };
        let job = event["job"].as_str().unwrap_or_default().to_owned();
        let entry = self.jobs.entry(job).or_default();
        match event["type"].as_str() {
            Some("start") => {
                entry.1 = event["bytes_total"].as_u64().unwrap_or(0);
                entry.3 = event["files_total"].as_u64().unwrap_or(0);
            }
            Some("progress") => {
                entry.0 = entry.0.max(event["bytes_done"].as_u64().unwrap_or(0));
                entry.1 = event["bytes_total"].as_u64().unwrap_or(entry.1);
                entry.2 = event["files_done"].as_u64().unwrap_or(entry.2);
                entry.3 = event["files_total"].as_u64().unwrap_or(entry.3);
            }
            _ => {}
        }
        let (done, total, files_done, files_total) =
            self.jobs.values().fold((0, 0, 0, 0), |a, j| {
                (a.0 + j.0, a.1 + j.1, a.2 + j.2, a.3 + j.3)
            });
        let first = self.last < 0.0;
        if !(first || done as f64 > self.last) {
            return;
        }
        self.last = done as f64;
        let message = format!(
            "{files_done}/{files_total} files, {} of {}",
            crate::printer::human_bytes(done),
            crate::printer::human_bytes(total)
        );
        let param = ProgressNotificationParam::new(token, done as f64)
            .with_total(total as f64)
            .with_message(message);
        let peer = self.peer.clone();
        tokio::spawn(async move {
            let _ = peer.notify_progress(param).await;
        });
    }
}

impl Server {
    /// Runs `hubferry ARGV` and turns what it printed into the tool result.
    async fn run(&self, argv: Vec<String>, ctx: &RequestContext<RoleServer>) -> CallToolResult {
        let mut full = Vec::new();
        if let Some(dir) = &self.state_dir {
            full.push("--state-dir".to_owned());
            full.push(dir.display().to_string());
        }
        full.extend(argv);
        let mut progress = Progress {
            peer: ctx.peer.clone(),
            token: ctx.meta.get_progress_token(),
            jobs: BTreeMap::new(),
            last: -1.0,
        };
        match child::run(&self.exe, &full, &ctx.ct, |e| progress.on_event(e)).await {
            Ok(done) => {
                let command = argv_command(&full);
                if done.cancelled {
                    self.log.status(&format!(
                        "hubferry mcp: call cancelled: sent SIGINT to `hubferry {command}`, which \
                         ended with exit code {}",
                        done.exit_code
                    ));
                }
                let mut objects = done.objects;
                if objects.is_empty() && done.exit_code != 0 {
                    let code = u8::try_from(done.exit_code).unwrap_or(1);
                    let message = format!(
                        "hubferry {command} ended with exit code {} and no result",
                        done.exit_code
                    );
                    let error = ErrorObject::new(code, &message, vec![done.stderr_tail], None);
                    objects.push(error.to_value());
                }
                result_of(done.exit_code, objects)
            }
            Err(e) => {
                let message = format!("could not run {}: {e}", self.exe.display());
                let hint = "reinstall hubferry or check the binary's permissions".to_owned();
                let error = ErrorObject::new(1, &message, vec![], Some(hint));
                result_of(1, vec![error.to_value()])
            }
        }
    }

    /// `migrate`: a plan first when the call deletes or widens visibility, so the confirmation
    /// can be checked against the destination the plan resolved; then the migration itself.
    async fn migrate(
        &self,
        args: tools::MigrateArgs,
        ctx: &RequestContext<RoleServer>,
    ) -> CallToolResult {
        let t = &args.transfer;
        if t.options.delete || t.options.public {
            let plan_argv = match tools::plan(t) {
                Ok(a) => a,
                Err(r) => return refused(r),
            };
            match self
                .plan_unconfirmed(plan_argv, &t.options, t.confirm.as_deref(), ctx)
                .await
            {
                Err(failed) => return failed,
                Ok((_, Some((dest, what)))) => {
                    return refused(Refusal::new(
                        format!("migrate to {dest} refused: it {what}; nothing was run"),
                        format!("show the user the plan, then pass confirm: \"{dest}\""),
                    ))
                }
                Ok((_, None)) => {}
            }
        }
        match tools::migrate(&args) {
            Ok(argv) => self.run(argv, ctx).await,
            Err(r) => refused(r),
        }
    }
}

impl Server {
    /// Runs the dry run `plan_argv` and returns its plan, with the plan's destination and what the
    /// call would do there when that deletes or widens and `confirm` is not the destination's
    /// name; a failed dry run is returned as it is.
    async fn plan_unconfirmed(
        &self,
        plan_argv: Vec<String>,
        options: &tools::TransferOptions,
        confirm: Option<&str>,
        ctx: &RequestContext<RoleServer>,
    ) -> Result<(serde_json::Value, Option<(String, String)>), CallToolResult> {
        let planned = self.run(plan_argv, ctx).await;
        if planned.is_error == Some(true) {
            return Err(planned);
        }
        let plan = planned
            .structured_content
            .as_ref()
            .map(|s| s["result"].clone())
            .unwrap_or_default();
        let needed = tools::needs_confirmation(options, &plan).and_then(|what| {
            let dest = tools::plan_dest_id(&plan).unwrap_or("?").to_owned();
            (confirm != Some(dest.as_str())).then_some((dest, what))
        });
        Ok((plan, needed))
    }

    /// `batch`: each repository's destination resolved once; with `delete` or `public` every
    /// repository planned and every needed confirmation checked before the batch starts (one
    /// missing refuses the whole call, so nothing moves); then `batch --from-file`.
    async fn batch(
        &self,
        args: tools::BatchArgs,
        ctx: &RequestContext<RoleServer>,
    ) -> CallToolResult {
        let lines = match tools::batch_lines(&args) {
            Ok(lines) => lines,
            Err(r) => return refused(r),
        };
        if args.options.delete || args.options.public {
            let mut plans = Vec::new();
            let mut unconfirmed = Vec::new();
            for (repo, line) in args.repos.iter().zip(&lines) {
                let argv = match tools::batch_plan(&args, line) {
                    Ok(argv) => argv,
                    Err(r) => return refused(r),
                };
                let (plan, needed) = match self
                    .plan_unconfirmed(argv, &args.options, repo.confirm.as_deref(), ctx)
                    .await
                {
                    Ok(planned) => planned,
                    Err(failed) => return failed,
                };
                if let Some((dest, what)) = needed {
                    unconfirmed.push((repo.source.clone(), dest, what));
                }
                plans.push(plan);
            }
            if !unconfirmed.is_empty() {
                return refused_after(plans, tools::batch_refusal(lines.len(), &unconfirmed));
            }
        }
        let file = match self.batch_file(&lines) {
            Ok(file) => file,
            Err(e) => {
                let error = ErrorObject::new(
                    1,
                    &format!("batch: could not write the batch file: {e}"),
                    vec![],
                    Some("check that the temporary directory ($TMPDIR) is writable".into()),
                );
                return result_of(1, vec![error.to_value()]);
            }
        };
        match tools::batch(&args, file.path()) {
            Ok(argv) => self.run(argv, ctx).await,
            Err(r) => refused(r),
        }
    }

    /// The `batch --from-file` file, removed when dropped (after the child ended).
    fn batch_file(&self, lines: &[tools::BatchLine]) -> std::io::Result<tempfile::NamedTempFile> {
        use std::io::Write;
        let mut file = tempfile::Builder::new()
            .prefix("hubferry-mcp-batch-")
            .suffix(".txt")
            .tempfile()?;
        file.write_all(tools::batch_file(lines).as_bytes())?;
        file.flush()?;
        Ok(file)
    }
}

impl ServerHandler for Server {
    fn get_info(&self) -> InitializeResult {
        InitializeResult::new(ServerCapabilities::builder().enable_tools().build())
            .with_server_info(Implementation::new("hubferry", env!("CARGO_PKG_VERSION")))
            .with_instructions(
                "hubferry migrates model and dataset repositories between the Hugging Face Hub \
                 and ModelScope and verifies every file. Start with doctor, show a plan before \
                 migrate (batch for several repositories), and retire only after verify, with \
                 confirm set to the exact repository name. Tokens come from the server's \
                 environment, never from arguments.",
            )
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        _ctx: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, ErrorData> {
        Ok(ListToolsResult::with_all_items(tool_list()))
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        ctx: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        use tools::*;
        let built = match request.name.as_ref() {
            "doctor" => Ok(doctor(&parse::<DoctorArgs>(&request)?)),
            "plan" => plan(&parse::<TransferArgs>(&request)?),
            "migrate" => {
                let args = parse::<MigrateArgs>(&request)?;
                return Ok(self.migrate(args, &ctx).await.into());
            }
            "batch" => {
                let args = parse::<BatchArgs>(&request)?;
                return Ok(self.batch(args, &ctx).await.into());
            }
            "runs" => {
                parse::<NoArgs>(&request)?;
                Ok(runs())
            }
            "run_status" => run_status(&parse::<RunArgs>(&request)?),
            "run_logs" => run_logs(&parse::<RunLogsArgs>(&request)?),
            "stop_run" => stop_run(&parse::<RunArgs>(&request)?),
            "verify" => verify(&parse::<VerifyArgs>(&request)?),
            "inventory" => inventory(&parse::<InventoryArgs>(&request)?),
            "sync_plan" => sync(&parse::<SyncArgs>(&request)?, true),
            "sync" => sync(&parse::<SyncArgs>(&request)?, false),
            "retire" => retire(&parse::<RetireArgs>(&request)?),
            other => {
                return Err(ErrorData::invalid_params(
                    format!("unknown tool `{other}`"),
                    None,
                ))
            }
        };
        let result = match built {
            Ok(argv) => self.run(argv, &ctx).await,
            Err(r) => refused(r),
        };
        Ok(result.into())
    }
}

/// The tool names, for tests and docs.
pub fn tool_names() -> Vec<String> {
    tool_list().iter().map(|t| t.name.to_string()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_tool_has_an_object_schema_without_token_fields() {
        let tools = tool_list();
        assert_eq!(tools.len(), 13);
        for t in &tools {
            let schema = Value::Object((*t.input_schema).clone());
            assert_eq!(schema["type"], "object", "{}", t.name);
            let text = schema.to_string().to_lowercase();
            assert!(!text.contains("\"token\""), "{}: {text}", t.name);
        }
        let names = tool_names();
        for name in [
            "plan",
            "migrate",
            "batch",
            "run_logs",
            "retire",
            "sync_plan",
        ] {
            assert!(names.iter().any(|n| n == name), "{name}");
        }
    }

    #[test]
    fn a_refusal_is_the_cli_error_object() {
        let r = refused(Refusal::new("no", "do this"));
        assert_eq!(r.is_error, Some(true));
        let s = r.structured_content.unwrap();
        assert_eq!(s["exit_code"], 2);
        assert_eq!(s["result"]["type"], "error");
        assert_eq!(s["result"]["hint"], "do this");
    }
}
