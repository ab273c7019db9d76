//! Exports `munin-master`'s `png_write_info` to the dynamic linker, so
//! cairo's PNG encoding (librrd's graphs) takes faster settings; see
//! `src/master/site/pngfast.rs`.
fn main() {
    // Only the master links librrd (and cairo's libpng through it).
    if std::env::var_os("CARGO_FEATURE_MASTER").is_none() {
        return;
    }
    println!("cargo::rustc-link-arg-bin=munin-master=-Wl,--export-dynamic-symbol=png_write_info");
}
