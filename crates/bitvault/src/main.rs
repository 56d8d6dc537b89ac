fn main() -> std::process::ExitCode {
    bitvault::cli::main_with(
        std::env::args_os().collect(),
        bitvault_runner::Env::from_process(),
    )
}
