//! `-n -p -h -w`: the command line of a cluster process, and its hostfile.

use std::net::{SocketAddr, ToSocketAddrs};
use std::path::Path;

use crate::builder::ClusterBuilder;
use crate::error::ClusterError;

/// The flags this crate reads: short and long spellings, and what they set.
const FLAGS: [(&str, &str); 4] = [
    ("-n", "--processes"),
    ("-p", "--process"),
    ("-h", "--hostfile"),
    ("-w", "--threads"),
];

/// The values of the cluster flags found in a command line.
#[derive(Debug, Default)]
struct Flags {
    processes: Option<String>,
    process: Option<String>,
    hostfile: Option<String>,
    threads: Option<String>,
}

/// If `arg` is one of our flags, which one (its index in [`FLAGS`]) and the value glued to
/// it (`-n3`, `--processes=3`), if any.
fn recognise(arg: &str) -> Option<(usize, Option<&str>)> {
    for (which, (short, long)) in FLAGS.iter().enumerate() {
        if arg == *short || arg == *long {
            return Some((which, None));
        }
        if let Some(value) = arg
            .strip_prefix(long)
            .and_then(|rest| rest.strip_prefix('='))
        {
            return Some((which, Some(value)));
        }
        if let Some(value) = arg.strip_prefix(short).filter(|rest| !rest.is_empty()) {
            // `-n3`, but not `-nope`-style words of the program: the glued value must look
            // like a value of that flag (digits, or any path for -h).
            if *short == "-h" || value.bytes().all(|b| b.is_ascii_digit()) {
                return Some((which, Some(value)));
            }
        }
    }
    None
}

/// Splits `args` into the cluster flags and everything else (in order).
fn split(args: impl IntoIterator<Item = String>) -> Result<(Flags, Vec<String>), ClusterError> {
    let mut flags = Flags::default();
    let mut rest = Vec::new();
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        let Some((which, glued)) = recognise(&arg) else {
            rest.push(arg);
            continue;
        };
        let value = match glued {
            Some(value) => value.to_owned(),
            None => args
                .next()
                .ok_or_else(|| ClusterError::Args(format!("{} needs a value", FLAGS[which].0)))?,
        };
        let slot = match which {
            0 => &mut flags.processes,
            1 => &mut flags.process,
            2 => &mut flags.hostfile,
            _ => &mut flags.threads,
        };
        if slot.replace(value).is_some() {
            return Err(ClusterError::Args(format!(
                "{} is given twice",
                FLAGS[which].0
            )));
        }
    }
    Ok((flags, rest))
}

fn number(flag: &str, value: &str) -> Result<usize, ClusterError> {
    value
        .parse()
        .map_err(|_| ClusterError::Args(format!("{flag} {value:?}: not a whole number")))
}

/// The builder that `Cluster::from_args` builds.
pub(crate) fn builder_from_args(
    args: impl IntoIterator<Item = String>,
) -> Result<ClusterBuilder, ClusterError> {
    let (flags, _rest) = split(args)?;
    let mut builder = ClusterBuilder::new();
    if let Some(threads) = &flags.threads {
        builder = builder.threads(number("-w", threads)?);
    }
    let Some(processes) = &flags.processes else {
        if flags.process.is_some() || flags.hostfile.is_some() {
            return Err(ClusterError::Args(
                "-p and -h need -n (the number of processes)".to_owned(),
            ));
        }
        return Ok(builder);
    };
    let processes = number("-n", processes)?;
    if processes == 0 {
        return Err(ClusterError::Args(
            "-n 0: a cluster needs at least one process".to_owned(),
        ));
    }
    let index = match &flags.process {
        Some(index) => number("-p", index)?,
        None if processes == 1 => 0,
        None => {
            return Err(ClusterError::Args(format!(
                "-n {processes} needs -p (this process's index)"
            )));
        }
    };
    builder = builder.processes(processes).index(index);
    if let Some(hostfile) = &flags.hostfile {
        builder = builder.hosts(read_hostfile(Path::new(hostfile), processes)?);
    }
    Ok(builder)
}

/// The first `processes` addresses of a hostfile: one `host:port` a line; blank lines and
/// lines starting with `#` are skipped; more lines than processes are allowed.
pub(crate) fn read_hostfile(
    path: &Path,
    processes: usize,
) -> Result<Vec<SocketAddr>, ClusterError> {
    let text = std::fs::read_to_string(path)
        .map_err(|error| ClusterError::Args(format!("hostfile {}: {error}", path.display())))?;
    let mut hosts = Vec::with_capacity(processes);
    for (number, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if hosts.len() == processes {
            break;
        }
        let addr = line
            .to_socket_addrs()
            .ok()
            .and_then(|mut addrs| addrs.next())
            .ok_or_else(|| {
                ClusterError::Args(format!(
                    "hostfile {} line {}: {line:?} is not a host:port address",
                    path.display(),
                    number + 1
                ))
            })?;
        hosts.push(addr);
    }
    if hosts.len() < processes {
        return Err(ClusterError::Args(format!(
            "hostfile {} has {} addresses, but -n is {processes}",
            path.display(),
            hosts.len()
        )));
    }
    Ok(hosts)
}

/// The command line without the cluster's flags (`-n -p -h -w` and their values): what is
/// left for the program to parse.
///
/// # Errors
///
/// [`ClusterError::Args`] when a cluster flag lacks its value or is given twice.
///
/// ```
/// let args = ["prog", "-n", "2", "--size", "10", "-p1", "-h", "hosts.txt"].map(String::from);
/// assert_eq!(weft_cluster::program_args(args).unwrap(), ["prog", "--size", "10"]);
/// ```
pub fn program_args(args: impl IntoIterator<Item = String>) -> Result<Vec<String>, ClusterError> {
    split(args).map(|(_, rest)| rest)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(words: &[&str]) -> Vec<String> {
        words.iter().map(|w| (*w).to_owned()).collect()
    }

    #[test]
    fn glued_and_long_spellings_are_read_and_the_rest_is_kept() {
        let (flags, rest) = split(args(&[
            "prog",
            "-n3",
            "--process=1",
            "-w",
            "2",
            "-x",
            "--hostfile",
            "f",
        ]))
        .unwrap();
        assert_eq!(flags.processes.as_deref(), Some("3"));
        assert_eq!(flags.process.as_deref(), Some("1"));
        assert_eq!(flags.threads.as_deref(), Some("2"));
        assert_eq!(flags.hostfile.as_deref(), Some("f"));
        assert_eq!(rest, ["prog", "-x"]);
    }

    #[test]
    fn a_word_that_starts_like_a_flag_is_left_for_the_program() {
        let (flags, rest) = split(args(&["-nope", "-wide"])).unwrap();
        assert!(flags.processes.is_none() && flags.threads.is_none());
        assert_eq!(rest, ["-nope", "-wide"]);
    }

    #[test]
    fn a_flag_without_its_value_is_an_args_error_naming_it() {
        let error = split(args(&["prog", "-n"])).unwrap_err();
        assert!(
            matches!(&error, ClusterError::Args(m) if m.contains("-n")),
            "{error}"
        );
    }

    #[test]
    fn a_flag_given_twice_is_an_args_error() {
        let error = split(args(&["-w", "1", "-w", "2"])).unwrap_err();
        assert!(
            matches!(&error, ClusterError::Args(m) if m.contains("twice")),
            "{error}"
        );
    }

    #[test]
    fn a_value_that_is_not_a_number_is_an_args_error_naming_the_flag() {
        let error = builder_from_args(args(&["-n", "two", "-p", "0"])).unwrap_err();
        assert!(matches!(&error, ClusterError::Args(m) if m.contains("-n") && m.contains("two")));
        let error = builder_from_args(args(&["-n", "2"])).unwrap_err();
        assert!(
            matches!(&error, ClusterError::Args(m) if m.contains("-p")),
            "{error}"
        );
    }

    #[test]
    fn a_missing_hostfile_is_an_args_error_naming_the_file() {
        let error = read_hostfile(Path::new("/nonexistent/weft-hosts"), 2).unwrap_err();
        assert!(matches!(&error, ClusterError::Args(m) if m.contains("/nonexistent/weft-hosts")));
    }

    #[test]
    fn a_hostfile_line_that_is_no_address_is_an_args_error_naming_file_and_line() {
        let path = std::env::temp_dir().join(format!("weft-hosts-bad-{}", std::process::id()));
        std::fs::write(&path, "# two hosts\n127.0.0.1:2101\n\nnot an address\n").unwrap();
        let error = read_hostfile(&path, 2).unwrap_err();
        std::fs::remove_file(&path).unwrap();
        let ClusterError::Args(message) = error else {
            panic!("{error:?}")
        };
        assert!(
            message.contains(&path.display().to_string()) && message.contains("line 4"),
            "{message}"
        );
    }

    #[test]
    fn a_short_hostfile_is_an_args_error_and_extra_lines_are_ignored() {
        let path = std::env::temp_dir().join(format!("weft-hosts-short-{}", std::process::id()));
        std::fs::write(&path, "127.0.0.1:2101\n127.0.0.1:2102\n127.0.0.1:2103\n").unwrap();
        let two = read_hostfile(&path, 2).unwrap();
        let error = read_hostfile(&path, 4).unwrap_err();
        std::fs::remove_file(&path).unwrap();
        assert_eq!(two.len(), 2);
        assert!(
            matches!(&error, ClusterError::Args(m) if m.contains("has 3 addresses")),
            "{error}"
        );
    }
}
