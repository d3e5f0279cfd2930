//! The `wsspec` binary: all behaviour lives in the library; see `wsspec::cli`.

fn main() {
    std::process::exit(wsspec::cli::main());
}
