//! `alluxio fs load`: reads files through the workers so their blocks end up
//! in the cache, the way Alluxio's `load` warms it before a job. The bytes
//! are read and dropped; the workers cache each block as it is read (with
//! the default read type, `CACHE`). A progress bar shows on a terminal.

use alluxio_client::FileSystem;
use clap::Args;

use crate::args;
use crate::display::is_dir;
use crate::progress::Progress;

/// Arguments of `alluxio fs load`.
#[derive(Args, Debug)]
pub struct LoadArgs {
    /// Accepted for compatibility (Alluxio's local-worker flag): blocks are
    /// cached by whichever worker serves them.
    #[arg(long = "local")]
    local: bool,
    /// A file, or a directory whose files are all loaded.
    #[arg(value_parser = args::alluxio_path)]
    path: String,
}

/// Runs `alluxio fs load`.
pub async fn run(fs: &FileSystem, args: LoadArgs) -> anyhow::Result<()> {
    let _ = args.local;
    let info = fs.get_status(&args.path).await?;
    let mut files = if is_dir(&info) {
        let all = fs.list_status(&args.path, true).await?;
        all.into_iter().filter(|f| !is_dir(f)).collect()
    } else {
        vec![info]
    };
    files.sort_by(|a, b| a.path.cmp(&b.path));
    let progress = Progress::for_terminal();
    for file in &files {
        progress.start_file(&file.path, file.length);
        let mut stream = fs.open_file(&file.path).await?;
        while let Some(chunk) = stream.read_chunk().await? {
            progress.advance(chunk.len() as u64);
        }
    }
    progress.finish();
    progress.println(&format!("{} loaded", args.path))?;
    Ok(())
}
