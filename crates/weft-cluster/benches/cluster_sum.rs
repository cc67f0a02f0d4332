//! The cluster's performance targets, side by side in one run:
//!
//! - throughput: the sum of 0..1e9 (black-boxed) in 64 items, on 2 processes of 1 pool
//!   thread each over loopback (`Cluster::map`), against one process with a pool of 2
//!   threads (`ThreadPool::map`, a fresh pool each round). Rounds alternate A B A B; the
//!   ratio is of the medians (target: cluster >= 0.85x the single process's throughput);
//! - start-up: from starting 2 processes until both are connected (target <= 1.5 s).
//!
//! `cargo bench -p weft-cluster --bench cluster_sum` (about 30 s). `WEFT_BENCH_N` and
//! `WEFT_BENCH_ROUNDS` change the size and the number of rounds.
//!
//! The cluster processes are this bench binary, started again in child mode, so both
//! contenders run the very same `sum_chunk` machine code (it is never inlined).

use std::hint::black_box;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::ops::Range;
use std::process::{Child, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use weft_cluster::Cluster;
use weft_core::ThreadPool;

const ITEMS: u64 = 64;
const ARGS_ENV: &str = "WEFT_CLUSTER_BENCH_ARGS";
const ROUNDS_ENV: &str = "WEFT_CLUSTER_BENCH_CHILD_ROUNDS";

#[inline(never)]
fn sum_chunk(range: Range<u64>) -> u64 {
    let mut sum = 0u64;
    for number in range {
        sum = sum.wrapping_add(black_box(number));
    }
    sum
}

fn items(n: u64) -> Vec<(u64, u64)> {
    (0..ITEMS)
        .map(|i| (i * n / ITEMS, (i + 1) * n / ITEMS))
        .collect()
}

fn expected(n: u64) -> u64 {
    (u128::from(n) * u128::from(n.saturating_sub(1)) / 2) as u64
}

fn total(sums: &[u64]) -> u64 {
    sums.iter().fold(0, |a, &b| a.wrapping_add(b))
}

fn unix_ns() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos()
}

fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.replace('_', "").parse().ok())
        .unwrap_or(default)
}

/// A cluster process: connect, say when, then run one timed `map` per `go` line on stdin
/// (the leader) or just take part in each (the others).
fn child(args: String) {
    // Hang guard: a child never outlives its bench by much.
    std::thread::spawn(|| {
        std::thread::sleep(Duration::from_secs(300));
        std::process::exit(97);
    });
    let rounds = env_number(ROUNDS_ENV, 0);
    let n = env_number("WEFT_BENCH_N", 1_000_000_000);
    let words =
        std::iter::once("bench".to_owned()).chain(args.split_whitespace().map(str::to_owned));
    let cluster = match Cluster::from_args(words) {
        Ok(cluster) => cluster,
        Err(error) => {
            println!("@@ error {error}");
            std::process::exit(3);
        }
    };
    println!("@@ connected {}", unix_ns());
    let mut stdin = std::io::stdin().lock();
    for _ in 0..rounds {
        if cluster.is_leader() {
            let mut line = String::new();
            stdin.read_line(&mut line).unwrap();
            let start = Instant::now();
            let sums = cluster
                .map(items(n), |(s, e)| sum_chunk(s..e))
                .unwrap()
                .unwrap();
            let took = start.elapsed();
            assert_eq!(total(&sums), expected(n));
            println!("@@ round {}", took.as_nanos());
        } else {
            cluster
                .map(Vec::new(), |(s, e): (u64, u64)| sum_chunk(s..e))
                .unwrap();
        }
    }
}

struct Processes {
    children: Vec<Child>,
    outputs: Vec<BufReader<ChildStdout>>,
}

impl Drop for Processes {
    fn drop(&mut self) {
        for child in &mut self.children {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Processes {
    /// The next `@@ key value` of process `index`.
    fn expect(&mut self, index: usize, key: &str) -> String {
        let mut line = String::new();
        loop {
            line.clear();
            if self.outputs[index].read_line(&mut line).unwrap() == 0 {
                panic!("process {index} ended before reporting {key}");
            }
            if let Some(rest) = line.trim_end().strip_prefix("@@ ") {
                if let Some(value) = rest.strip_prefix(key) {
                    return value.trim().to_owned();
                }
                if rest.starts_with("error") {
                    return rest.to_owned();
                }
            }
        }
    }
}

/// Starts `processes` cluster processes of 1 thread on fresh free ports. Returns them and
/// the time each was connected, measured from just before the first was started.
fn start(processes: usize, rounds: u64) -> (Processes, Duration) {
    for _attempt in 0..5 {
        let ports: Vec<u16> = {
            let listeners: Vec<_> = (0..processes)
                .map(|_| TcpListener::bind("127.0.0.1:0").unwrap())
                .collect();
            listeners
                .iter()
                .map(|l| l.local_addr().unwrap().port())
                .collect()
        };
        let hostfile = std::env::temp_dir().join(format!(
            "weft-cluster-bench-{}-{}.hosts",
            std::process::id(),
            ports[0]
        ));
        std::fs::write(
            &hostfile,
            ports
                .iter()
                .map(|p| format!("127.0.0.1:{p}\n"))
                .collect::<String>(),
        )
        .unwrap();
        let began = unix_ns();
        let mut group = Processes {
            children: Vec::new(),
            outputs: Vec::new(),
        };
        for index in 0..processes {
            let mut child = Command::new(std::env::current_exe().unwrap())
                .env(
                    ARGS_ENV,
                    format!("-n {processes} -p {index} -h {} -w 1", hostfile.display()),
                )
                .env(ROUNDS_ENV, rounds.to_string())
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .spawn()
                .unwrap();
            group
                .outputs
                .push(BufReader::new(child.stdout.take().unwrap()));
            group.children.push(child);
        }
        let connected: Vec<String> = (0..processes)
            .map(|i| group.expect(i, "connected"))
            .collect();
        let _ = std::fs::remove_file(&hostfile);
        if connected
            .iter()
            .any(|c| c.contains("Address already in use"))
        {
            continue;
        }
        if let Some(error) = connected.iter().find(|c| c.starts_with("error")) {
            panic!("a cluster process failed: {error}");
        }
        let last = connected
            .iter()
            .map(|c| c.parse::<u128>().unwrap())
            .max()
            .unwrap();
        return (group, Duration::from_nanos((last - began) as u64));
    }
    panic!("no free ports after 5 attempts")
}

fn median(mut values: Vec<Duration>) -> Duration {
    values.sort();
    values[values.len() / 2]
}

fn main() {
    if let Ok(args) = std::env::var(ARGS_ENV) {
        child(args);
        return;
    }
    let n = env_number("WEFT_BENCH_N", 1_000_000_000);
    let rounds = env_number("WEFT_BENCH_ROUNDS", 7).max(1);
    println!(
        "cluster_sum: the sum of 0..{n} (black-boxed) in {ITEMS} items, {rounds} rounds each, interleaved"
    );

    // Start-up: 5 fresh clusters of 2 processes that only connect.
    let startups: Vec<Duration> = (0..5)
        .map(|_| {
            let (mut group, took) = start(2, 0);
            for child in &mut group.children {
                child.wait().unwrap();
            }
            took
        })
        .collect();

    // Throughput: one cluster of 2 x 1 thread, one warm-up round and `rounds` measured.
    let (mut group, _) = start(2, rounds + 1);
    let mut leader_in = group.children[0].stdin.take().unwrap();
    let mut cluster_round = |group: &mut Processes| {
        leader_in.write_all(b"go\n").unwrap();
        leader_in.flush().unwrap();
        Duration::from_nanos(group.expect(0, "round").parse().unwrap())
    };
    let local_round = || {
        let pool = ThreadPool::new(2).unwrap();
        let start = Instant::now();
        let sums = pool.map(items(n), |(s, e)| sum_chunk(s..e));
        let took = start.elapsed();
        assert_eq!(total(&sums), expected(n));
        took
    };
    local_round();
    cluster_round(&mut group);
    let mut local = Vec::new();
    let mut cluster = Vec::new();
    for _ in 0..rounds {
        local.push(local_round());
        cluster.push(cluster_round(&mut group));
    }
    for child in &mut group.children {
        child.wait().unwrap();
    }

    let (local_p50, cluster_p50) = (median(local.clone()), median(cluster.clone()));
    println!("  one process, pool of 2 threads   p50 {local_p50:>10.2?}   rounds {local:.2?}");
    println!("  2 processes x 1 thread, loopback p50 {cluster_p50:>10.2?}   rounds {cluster:.2?}");
    println!(
        "  cluster throughput / one process: {:.2}x   (target >= 0.85x)",
        local_p50.as_secs_f64() / cluster_p50.as_secs_f64()
    );
    println!(
        "  start-up until all connected, 2 processes: p50 {:.0?}, max {:.0?}   (target <= 1.5 s)",
        median(startups.clone()),
        startups.iter().max().unwrap()
    );
}
