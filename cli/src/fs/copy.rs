//! Copy commands: `copyFromLocal`, `copyToLocal` and `cp` (Alluxio to
//! Alluxio, or either side local with `file://`). Data moves in chunks of
//! [`CHUNK`] bytes, so a file of any size is copied in constant memory.
//! A copy that fails part-way removes the partial destination file. On a
//! terminal each file shows a progress bar (`crate::progress`).

use std::path::{Path, PathBuf};

use alluxio_client::{CreateDirectoryOptions, CreateFileOptions, FileInfo, FileSystem};
use anyhow::{bail, Context};
use clap::Args;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::args::{self, Location};
use crate::display::is_dir;
use crate::progress::Progress;

/// Bytes read from a local file per write to Alluxio.
const CHUNK: usize = 4 << 20;

/// Arguments of `alluxio fs copyFromLocal`.
#[derive(Args, Debug)]
pub struct CopyFromLocalArgs {
    /// Local file or directory (a `file://` prefix is accepted).
    src: String,
    /// Alluxio destination; an existing directory receives the copy inside.
    #[arg(value_parser = args::alluxio_path)]
    dst: String,
}

/// Arguments of `alluxio fs copyToLocal`.
#[derive(Args, Debug)]
pub struct CopyToLocalArgs {
    /// Alluxio file or directory.
    #[arg(value_parser = args::alluxio_path)]
    src: String,
    /// Local destination (a `file://` prefix is accepted); an existing
    /// directory receives the copy inside.
    dst: String,
}

/// Arguments of `alluxio fs cp`.
#[derive(Args, Debug)]
pub struct CpArgs {
    /// Copies directories recursively.
    #[arg(short = 'R', long = "recursive")]
    recursive: bool,
    /// Source: an Alluxio path, or file:///local/path.
    src: String,
    /// Destination: an Alluxio path, or file:///local/path.
    dst: String,
}

/// Runs `alluxio fs copyFromLocal` (directories are always copied whole).
pub async fn copy_from_local_cmd(fs: &FileSystem, args: CopyFromLocalArgs) -> anyhow::Result<()> {
    let progress = Progress::for_terminal();
    copy_from_local(fs, &progress, &local_path(&args.src), &args.dst, true).await
}

/// Runs `alluxio fs copyToLocal` (directories are always copied whole).
pub async fn copy_to_local_cmd(fs: &FileSystem, args: CopyToLocalArgs) -> anyhow::Result<()> {
    let progress = Progress::for_terminal();
    copy_to_local(fs, &progress, &args.src, &local_path(&args.dst), true).await
}

/// Runs `alluxio fs cp`.
pub async fn cp(fs: &FileSystem, args: CpArgs) -> anyhow::Result<()> {
    let src = args::location(&args.src).map_err(anyhow::Error::msg)?;
    let dst = args::location(&args.dst).map_err(anyhow::Error::msg)?;
    let progress = &Progress::for_terminal();
    match (src, dst) {
        (Location::Local(_), Location::Local(_)) => {
            bail!("both paths are local; at least one must be an Alluxio path")
        }
        (Location::Local(src), Location::Alluxio(dst)) => {
            copy_from_local(fs, progress, &src, &dst, args.recursive).await
        }
        (Location::Alluxio(src), Location::Local(dst)) => {
            copy_to_local(fs, progress, &src, &dst, args.recursive).await
        }
        (Location::Alluxio(src), Location::Alluxio(dst)) => {
            copy_within(fs, progress, &src, &dst, args.recursive).await
        }
    }
}

/// A local path argument, with an optional `file://` prefix.
fn local_path(text: &str) -> PathBuf {
    PathBuf::from(text.strip_prefix("file://").unwrap_or(text))
}

/// Where a copy of something named `name` lands when the destination is
/// `dst`: inside it if it is an existing directory, else `dst` itself.
async fn alluxio_target(fs: &FileSystem, dst: &str, name: &str) -> anyhow::Result<String> {
    match fs.get_status(dst).await {
        Ok(info) if is_dir(&info) && !name.is_empty() => Ok(args::join(dst, name)),
        Ok(_) => Ok(dst.to_string()),
        Err(alluxio_client::FsError::NotFound(_)) => Ok(dst.to_string()),
        Err(e) => Err(e.into()),
    }
}

/// `file:///absolute/path`, as the copy messages name local files.
fn file_uri(path: &Path) -> String {
    let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    format!("file://{}", absolute.display())
}

/// The name a local path is copied under: its last component as typed (a
/// symlink keeps its own name), resolved only for `.` and `..` endings.
async fn local_name(path: &Path) -> String {
    let last_normal = |p: &Path| match p.components().next_back() {
        Some(std::path::Component::Normal(n)) => n.to_str().map(str::to_string),
        _ => None,
    };
    if let Some(name) = last_normal(path) {
        return name;
    }
    match tokio::fs::canonicalize(path).await {
        Ok(resolved) => last_normal(&resolved).unwrap_or_default(),
        Err(_) => String::new(),
    }
}

fn print_copied(progress: &Progress, src: &str, dst: &str) -> anyhow::Result<()> {
    progress.println(&format!("Copied {src} to {dst}"))?;
    Ok(())
}

fn recursive_needed(path: &str) -> anyhow::Error {
    anyhow::anyhow!("{path} is a directory, to copy it please use \"cp -R {path} <dst>\"")
}

// ---- local to Alluxio ----

async fn copy_from_local(
    fs: &FileSystem,
    progress: &Progress,
    src: &Path,
    dst: &str,
    recursive: bool,
) -> anyhow::Result<()> {
    let meta = tokio::fs::metadata(src)
        .await
        .with_context(|| format!("cannot access local path {}", src.display()))?;
    let target = alluxio_target(fs, dst, &local_name(src).await).await?;
    if meta.is_dir() {
        if !recursive {
            return Err(recursive_needed(&file_uri(src)));
        }
        return Box::pin(local_dir_to_alluxio(fs, progress, src, &target)).await;
    }
    local_file_to_alluxio(fs, progress, src, &target).await
}

async fn local_dir_to_alluxio(
    fs: &FileSystem,
    progress: &Progress,
    src: &Path,
    dst: &str,
) -> anyhow::Result<()> {
    let opts = CreateDirectoryOptions {
        recursive: true,
        allow_exists: true,
        ..Default::default()
    };
    fs.create_directory(dst, opts).await?;
    let mut entries = Vec::new();
    let mut dir = tokio::fs::read_dir(src)
        .await
        .with_context(|| format!("cannot read local directory {}", src.display()))?;
    while let Some(entry) = dir
        .next_entry()
        .await
        .with_context(|| format!("cannot read local directory {}", src.display()))?
    {
        entries.push(entry.path());
    }
    entries.sort();
    for path in entries {
        let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
            bail!("local file name {} is not valid UTF-8", path.display());
        };
        let target = args::join(dst, name);
        let mut meta = tokio::fs::symlink_metadata(&path)
            .await
            .with_context(|| format!("cannot access local path {}", path.display()))?;
        if meta.is_symlink() {
            meta = tokio::fs::metadata(&path)
                .await
                .with_context(|| format!("cannot follow local symlink {}", path.display()))?;
            if meta.is_dir() {
                // Following directory links could loop forever; copy what they hold instead.
                tracing::warn!("skipping symlink to a directory: {}", path.display());
                continue;
            }
        }
        if meta.is_dir() {
            Box::pin(local_dir_to_alluxio(fs, progress, &path, &target)).await?;
        } else if meta.is_file() {
            local_file_to_alluxio(fs, progress, &path, &target).await?;
        } else {
            bail!(
                "cannot copy {}: not a regular file or directory",
                path.display()
            );
        }
    }
    Ok(())
}

async fn local_file_to_alluxio(
    fs: &FileSystem,
    progress: &Progress,
    src: &Path,
    dst: &str,
) -> anyhow::Result<()> {
    let mut file = tokio::fs::File::open(src)
        .await
        .with_context(|| format!("cannot open local file {}", src.display()))?;
    let opts = CreateFileOptions {
        recursive: true,
        ..Default::default()
    };
    let mut out = fs.create_file(dst, opts).await?;
    let length = file.metadata().await.map(|m| m.len()).unwrap_or(0);
    progress.start_file(&src.display().to_string(), length);
    let mut buf = vec![0u8; CHUNK];
    let copied: anyhow::Result<()> = async {
        loop {
            let n = fill(&mut file, &mut buf)
                .await
                .with_context(|| format!("reading local file {}", src.display()))?;
            if n == 0 {
                return Ok(());
            }
            out.write(&buf[..n]).await?;
            progress.advance(n as u64);
        }
    }
    .await;
    if let Err(err) = copied {
        let _ = out.cancel().await;
        return Err(err);
    }
    out.close().await?;
    print_copied(progress, &file_uri(src), dst)
}

/// Reads until `buf` is full or the file ends; returns the bytes read.
async fn fill(file: &mut tokio::fs::File, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match file.read(&mut buf[n..]).await? {
            0 => break,
            read => n += read,
        }
    }
    Ok(n)
}

// ---- Alluxio to local ----

async fn copy_to_local(
    fs: &FileSystem,
    progress: &Progress,
    src: &str,
    dst: &Path,
    recursive: bool,
) -> anyhow::Result<()> {
    let info = fs.get_status(src).await?;
    let name = args::base_name(src);
    let target = match tokio::fs::metadata(dst).await {
        Ok(meta) if meta.is_dir() && !name.is_empty() => dst.join(name),
        _ => dst.to_path_buf(),
    };
    if is_dir(&info) {
        if !recursive {
            return Err(recursive_needed(src));
        }
        return Box::pin(alluxio_dir_to_local(fs, progress, src, &target)).await;
    }
    alluxio_file_to_local(fs, progress, &info, &target).await
}

async fn alluxio_dir_to_local(
    fs: &FileSystem,
    progress: &Progress,
    src: &str,
    dst: &Path,
) -> anyhow::Result<()> {
    tokio::fs::create_dir_all(dst)
        .await
        .with_context(|| format!("cannot create local directory {}", dst.display()))?;
    let mut children = fs.list_status(src, false).await?;
    children.sort_by(|a, b| a.path.cmp(&b.path));
    for child in children {
        let target = dst.join(&child.name);
        if is_dir(&child) {
            Box::pin(alluxio_dir_to_local(fs, progress, &child.path, &target)).await?;
        } else {
            alluxio_file_to_local(fs, progress, &child, &target).await?;
        }
    }
    Ok(())
}

async fn alluxio_file_to_local(
    fs: &FileSystem,
    progress: &Progress,
    info: &FileInfo,
    dst: &Path,
) -> anyhow::Result<()> {
    let mut stream = fs.open_file(&info.path).await?;
    let mut file = tokio::fs::File::create(dst)
        .await
        .with_context(|| format!("cannot create local file {}", dst.display()))?;
    progress.start_file(&info.path, info.length);
    let copied: anyhow::Result<()> = async {
        while let Some(chunk) = stream.read_chunk().await? {
            file.write_all(&chunk)
                .await
                .with_context(|| format!("writing local file {}", dst.display()))?;
            progress.advance(chunk.len() as u64);
        }
        file.flush()
            .await
            .with_context(|| format!("writing local file {}", dst.display()))?;
        Ok(())
    }
    .await;
    if let Err(err) = copied {
        drop(file);
        let _ = tokio::fs::remove_file(dst).await;
        return Err(err);
    }
    print_copied(progress, &info.path, &file_uri(dst))
}

// ---- Alluxio to Alluxio ----

async fn copy_within(
    fs: &FileSystem,
    progress: &Progress,
    src: &str,
    dst: &str,
    recursive: bool,
) -> anyhow::Result<()> {
    let info = fs.get_status(src).await?;
    let target = alluxio_target(fs, dst, args::base_name(src)).await?;
    if is_dir(&info) {
        if !recursive {
            return Err(recursive_needed(src));
        }
        if target == src || target.starts_with(&args::join(src, "")) {
            bail!("cannot copy {src} into itself ({target})");
        }
        return Box::pin(alluxio_dir_within(fs, progress, src, &target)).await;
    }
    if target == src {
        bail!("{src} and {target} are the same file");
    }
    alluxio_file_within(fs, progress, &info, &target).await
}

async fn alluxio_dir_within(
    fs: &FileSystem,
    progress: &Progress,
    src: &str,
    dst: &str,
) -> anyhow::Result<()> {
    let opts = CreateDirectoryOptions {
        recursive: true,
        allow_exists: true,
        ..Default::default()
    };
    fs.create_directory(dst, opts).await?;
    let mut children = fs.list_status(src, false).await?;
    children.sort_by(|a, b| a.path.cmp(&b.path));
    for child in children {
        let target = args::join(dst, &child.name);
        if is_dir(&child) {
            Box::pin(alluxio_dir_within(fs, progress, &child.path, &target)).await?;
        } else {
            alluxio_file_within(fs, progress, &child, &target).await?;
        }
    }
    Ok(())
}

async fn alluxio_file_within(
    fs: &FileSystem,
    progress: &Progress,
    info: &FileInfo,
    dst: &str,
) -> anyhow::Result<()> {
    let mut stream = fs.open_file(&info.path).await?;
    let opts = CreateFileOptions {
        recursive: true,
        ..Default::default()
    };
    let mut out = fs.create_file(dst, opts).await?;
    progress.start_file(&info.path, info.length);
    let copied: anyhow::Result<()> = async {
        while let Some(chunk) = stream.read_chunk().await? {
            out.write(&chunk).await?;
            progress.advance(chunk.len() as u64);
        }
        Ok(())
    }
    .await;
    if let Err(err) = copied {
        let _ = out.cancel().await;
        return Err(err);
    }
    out.close().await?;
    print_copied(progress, &info.path, dst)
}
