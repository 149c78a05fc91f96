//! Compiles the .proto files with the pure-Rust `protox`, so building needs no
//! system `protoc`.

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
    tonic_prost_build::configure()
        .build_server(true)
        .build_client(true)
        .bytes(".")
        .compile_fds(fds)?;
    Ok(())
}
