//! Writes the TLS test certificates (see `tests/support/certs.rs`) into the
//! directory given as the only argument. Used by the C test harness.
//!
//!     cargo run --example gen_test_certs -- <dir>

// The example reports only the directory; the tests use every field.
#[allow(dead_code)]
#[path = "../tests/support/certs.rs"]
mod certs;

fn main() {
    let Some(dir) = std::env::args_os().nth(1) else {
        eprintln!("usage: gen_test_certs <dir>");
        std::process::exit(2);
    };
    let pki = certs::generate(std::path::Path::new(&dir));
    println!("test certificates written to {}", pki.dir.display());
}
