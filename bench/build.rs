// Present only so `[build-dependencies]` (feature alignment, see Cargo.toml) takes effect.
fn main() {
    println!("cargo::rerun-if-changed=build.rs");
}
