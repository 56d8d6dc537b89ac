fn main() {
    for p in std::env::args().skip(1) {
        match bitvault_path_filter::glob::Glob::new(&p) {
            Ok(g) => println!("{p:?} valid={} {}", g.is_valid_regex(), g.js_source()),
            Err(e) => println!("{p:?} error {e}"),
        }
    }
}
