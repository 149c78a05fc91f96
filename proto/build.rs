//! Compiles the .proto files with the pure-Rust `protox`, so building needs no
//! system `protoc`, and keeps their descriptors (without comments) for the
//! wire-compatibility test (`tests/wire_compat.rs`).

use prost::Message;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let files = [
        "proto/alluxio/common.proto",
        "proto/alluxio/master.proto",
        "proto/alluxio/worker.proto",
        "proto/alluxio/journal.proto",
    ];
    for f in &files {
        println!("cargo:rerun-if-changed={f}");
    }
    let fds = protox::compile(files, ["proto"])?;
    let mut bare = fds.clone();
    for file in &mut bare.file {
        file.source_code_info = None;
    }
    let out = std::path::PathBuf::from(std::env::var("OUT_DIR")?);
    std::fs::write(out.join("descriptors.bin"), bare.encode_to_vec())?;
    tonic_prost_build::configure()
        .build_server(true)
        .build_client(true)
        .bytes(".")
        .compile_fds(fds)?;
    Ok(())
}
