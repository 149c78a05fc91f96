//! Progress bars for the long copies (`copyFromLocal`, `copyToLocal`,
//! `cp`, `load`): one bar per file, drawn on stderr, showing the file, bytes
//! done of its length, the rate and the time left.
//!
//! Drawn only when both stdout and stderr are terminals: piped or
//! redirected, the commands print exactly what they printed before (the
//! `Copied ... to ...` lines on stdout) and nothing else. Lines printed
//! while a bar is up go through [`Progress::println`] so they do not tear it.

use std::io::{IsTerminal, Write};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// The bar of the current command, or nothing when not on a terminal.
pub struct Progress {
    bar: Option<ProgressBar>,
}

impl Progress {
    /// A bar if stdout and stderr are terminals, else a silent stand-in.
    pub fn for_terminal() -> Progress {
        let visible = std::io::stdout().is_terminal() && std::io::stderr().is_terminal();
        Progress::new(visible)
    }

    /// A bar drawn on stderr when `visible`.
    pub fn new(visible: bool) -> Progress {
        if !visible {
            return Progress { bar: None };
        }
        let style = ProgressStyle::with_template(
            "{msg:24!} {wide_bar} {bytes}/{total_bytes} {binary_bytes_per_sec} {eta}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> ");
        // Hidden until the first file starts, so nothing is drawn for a
        // command that fails before copying.
        let bar = ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::hidden());
        bar.set_style(style);
        Progress { bar: Some(bar) }
    }

    /// Starts the bar for a file of `length` bytes named `name`.
    pub fn start_file(&self, name: &str, length: u64) {
        if let Some(bar) = &self.bar {
            bar.reset();
            bar.set_length(length);
            bar.set_message(name.to_string());
            if bar.is_hidden() {
                bar.set_draw_target(ProgressDrawTarget::stderr());
            }
        }
    }

    /// Counts `bytes` more of the current file.
    pub fn advance(&self, bytes: u64) {
        if let Some(bar) = &self.bar {
            bar.inc(bytes);
        }
    }

    /// Prints a line on stdout above the bar.
    pub fn println(&self, line: &str) -> std::io::Result<()> {
        match &self.bar {
            Some(bar) => bar.suspend(|| writeln!(std::io::stdout(), "{line}")),
            None => writeln!(std::io::stdout(), "{line}"),
        }
    }

    /// Removes the bar.
    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.finish();
    }
}
