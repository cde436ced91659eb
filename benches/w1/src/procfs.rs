//! Readings from `/proc`: a process's memory and CPU time, per thread, and the machine's
//! CPU time, so that a figure comes with what the machine was doing meanwhile.

use std::collections::BTreeMap;
use std::fs;

/// `/proc` counts CPU time in clock ticks of `USER_HZ`, 100 on Linux.
const TICKS_PER_SECOND: f64 = 100.0;

/// `VmRSS` and `VmHWM` (peak) of a process, in bytes.
#[derive(Clone, Copy, Debug, Default)]
pub struct Memory {
    pub rss: u64,
    pub hwm: u64,
}

pub fn memory(pid: u32) -> Option<Memory> {
    let status = fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let field = |name: &str| -> Option<u64> {
        let line = status.lines().find(|l| l.starts_with(name))?;
        let kib: u64 = line[name.len()..].trim().trim_end_matches("kB").trim().parse().ok()?;
        Some(kib * 1024)
    };
    Some(Memory {
        rss: field("VmRSS:")?,
        hwm: field("VmHWM:")?,
    })
}

/// User + system CPU seconds from a `stat` file (fields 14 and 15, after the command
/// name, which may itself hold spaces and parentheses).
fn stat_cpu(stat: &str) -> Option<f64> {
    let rest = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // `rest` starts at field 3 (state): utime is field 14, stime 15.
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) as f64 / TICKS_PER_SECOND)
}

/// CPU seconds used so far by process `pid` (`"self"` for this one).
pub fn process_cpu(pid: &str) -> Option<f64> {
    stat_cpu(&fs::read_to_string(format!("/proc/{pid}/stat")).ok()?)
}

/// CPU seconds so far of each thread of `pid`, by thread id (ids grow in creation
/// order), with the thread's name (at most 15 bytes: `/proc` truncates it).
pub fn thread_cpu(pid: u32) -> BTreeMap<u32, (String, f64)> {
    let mut out = BTreeMap::new();
    let Ok(tasks) = fs::read_dir(format!("/proc/{pid}/task")) else {
        return out;
    };
    for task in tasks.flatten() {
        let path = task.path();
        let Some(tid) = task.file_name().to_str().and_then(|t| t.parse::<u32>().ok()) else {
            continue;
        };
        let name = fs::read_to_string(path.join("comm"))
            .map(|s| s.trim().to_string())
            .unwrap_or_default();
        if let Some(cpu) = fs::read_to_string(path.join("stat")).ok().as_deref().and_then(stat_cpu) {
            out.insert(tid, (name, cpu));
        }
    }
    out
}

/// The machine's CPU time so far: (busy seconds, idle + iowait seconds), all cores.
pub fn machine_cpu() -> Option<(f64, f64)> {
    let stat = fs::read_to_string("/proc/stat").ok()?;
    let line = stat.lines().find(|l| l.starts_with("cpu "))?;
    let v: Vec<u64> = line.split_whitespace().skip(1).filter_map(|x| x.parse().ok()).collect();
    // user nice system idle iowait irq softirq steal (guest time is inside user).
    let busy = v.first()? + v.get(1)? + v.get(2)? + v.get(5)? + v.get(6)? + v.get(7).copied().unwrap_or(0);
    let idle = v.get(3)? + v.get(4)?;
    Some((busy as f64 / TICKS_PER_SECOND, idle as f64 / TICKS_PER_SECOND))
}

/// `/proc/loadavg`'s three load averages.
pub fn load_average() -> String {
    fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".into())
}

pub fn cores() -> usize {
    std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1)
}

/// CPU use over an interval: this process, the server (by thread) and the machine.
pub struct CpuSnapshot {
    driver: Option<f64>,
    server: Option<f64>,
    threads: BTreeMap<u32, (String, f64)>,
    machine: Option<(f64, f64)>,
}

/// What a [`CpuSnapshot`] pair shows, in CPU seconds.
pub struct CpuUse {
    pub driver: Option<f64>,
    pub server: Option<f64>,
    /// Server threads in creation order: (thread id, name, CPU seconds).
    pub threads: Vec<(u32, String, f64)>,
    pub machine_busy: Option<f64>,
    pub machine_idle: Option<f64>,
}

impl CpuSnapshot {
    pub fn take(server_pid: Option<u32>) -> CpuSnapshot {
        CpuSnapshot {
            driver: process_cpu("self"),
            server: server_pid.and_then(|p| process_cpu(&p.to_string())),
            threads: server_pid.map(thread_cpu).unwrap_or_default(),
            machine: machine_cpu(),
        }
    }

    pub fn since(&self, earlier: &CpuSnapshot) -> CpuUse {
        let threads: Vec<(u32, String, f64)> = self
            .threads
            .iter()
            .map(|(tid, (name, cpu))| {
                let before = earlier.threads.get(tid).map(|t| t.1).unwrap_or(0.0);
                (*tid, name.clone(), cpu - before)
            })
            .collect();
        let diff = |a: Option<f64>, b: Option<f64>| Some(a? - b?);
        CpuUse {
            driver: diff(self.driver, earlier.driver),
            server: diff(self.server, earlier.server),
            threads,
            machine_busy: diff(self.machine.map(|m| m.0), earlier.machine.map(|m| m.0)),
            machine_idle: diff(self.machine.map(|m| m.1), earlier.machine.map(|m| m.1)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_cpu_reads_utime_and_stime_after_odd_names() {
        let stat = "1234 (a (b) c) S 1 1234 1234 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 1 0 100 0 0";
        assert_eq!(stat_cpu(stat), Some(3.0));
    }

    #[test]
    fn this_process_has_memory_and_cpu_readings() {
        let pid = std::process::id();
        let m = memory(pid).expect("VmRSS of this process");
        assert!(m.rss > 0 && m.hwm >= m.rss);
        assert!(process_cpu("self").is_some());
        assert!(!thread_cpu(pid).is_empty());
        assert!(machine_cpu().is_some());
    }
}
