//! The report files: checked before the sweep, written after it through a temporary file
//! and a rename, so an interrupted or failed run never leaves a file half-written or
//! destroys an earlier report.

use std::fs::{File, OpenOptions};
use std::io::Write as _;
use std::path::{Path, PathBuf};

use weft_tune::Report;

use crate::cli::{Cli, CliError};

/// One output file: the flag that named it and its path.
#[derive(Debug, Clone)]
struct Output {
    flag: &'static str,
    path: PathBuf,
}

/// The files a sweep will write.
#[derive(Debug)]
pub(crate) struct Outputs {
    json: Option<Output>,
    svg: Option<Output>,
}

/// `dir/.name.weft-tune-PID.tmp`: next to the target, so the rename stays on one file system.
fn temporary_path(path: &Path) -> PathBuf {
    let name = path.file_name().map_or_else(
        || "report".into(),
        |name| name.to_string_lossy().into_owned(),
    );
    path.with_file_name(format!(".{name}.weft-tune-{}.tmp", std::process::id()))
}

fn create_temporary(output: &Output) -> Result<(PathBuf, File), CliError> {
    let cannot = |error: std::io::Error| {
        CliError::failed(format!(
            "cannot write the {} file '{}': {error}",
            output.flag,
            output.path.display()
        ))
    };
    if output.path.is_dir() {
        return Err(cannot(std::io::Error::other("it is a directory")));
    }
    let temporary = temporary_path(&output.path);
    let file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&temporary)
        .map_err(cannot)?;
    Ok((temporary, file))
}

impl Output {
    /// Checks that the file can be written, leaving nothing behind.
    fn probe(&self) -> Result<(), CliError> {
        let (temporary, file) = create_temporary(self)?;
        drop(file);
        let _ = std::fs::remove_file(temporary);
        Ok(())
    }

    /// Writes `bytes` to a temporary file beside the target, syncs it, and renames it over
    /// the target; on any failure the temporary file is removed and the target is as it was.
    fn write_atomically(&self, bytes: &[u8]) -> Result<(), CliError> {
        let (temporary, mut file) = create_temporary(self)?;
        let written = file
            .write_all(bytes)
            .and_then(|()| file.sync_all())
            .and_then(|()| {
                drop(file);
                std::fs::rename(&temporary, &self.path)
            });
        written.map_err(|error| {
            let _ = std::fs::remove_file(&temporary);
            CliError::failed(format!("cannot write '{}': {error}", self.path.display()))
        })
    }
}

impl Outputs {
    /// Checks, before the sweep, that every output file can be written.
    pub(crate) fn check(cli: &Cli) -> Result<Outputs, CliError> {
        let output = |flag, path: &Option<PathBuf>| path.clone().map(|path| Output { flag, path });
        let outputs = Outputs {
            json: output("--json", &cli.json),
            svg: output("--svg", &cli.svg),
        };
        for output in outputs.json.iter().chain(&outputs.svg) {
            output.probe()?;
        }
        Ok(outputs)
    }

    /// Writes the report and the chart.
    pub(crate) fn write(&self, report: &Report) -> Result<(), CliError> {
        if let Some(output) = &self.json {
            let mut json = serde_json::to_string_pretty(report)
                .map_err(|error| CliError::failed(format!("cannot encode the report: {error}")))?;
            json.push('\n');
            output.write_atomically(json.as_bytes())?;
            eprintln!("weft-tune: wrote the report to {}", output.path.display());
        }
        if let Some(output) = &self.svg {
            let svg = report
                .to_svg(1000, 600)
                .map_err(|error| CliError::failed(error.to_string()))?;
            output.write_atomically(svg.as_bytes())?;
            eprintln!("weft-tune: wrote the chart to {}", output.path.display());
        }
        Ok(())
    }
}
