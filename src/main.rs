//! Entry point: hands the arguments to the library and turns its answer into the exit code.

fn main() -> std::process::ExitCode {
    hubferry::main(std::env::args_os())
}
