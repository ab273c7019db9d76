//! /proc/stat, which cpu, forks, interrupts and vmstat read.

/// The lines of /proc/stat the plugins use.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Stat {
    /// The aggregate `cpu` line's columns (user, nice, system, idle, iowait,
    /// irq, softirq, steal, guest, guest_nice: as many as the kernel has).
    pub cpu: Vec<u64>,
    /// Number of `cpuN` lines.
    pub cpus: usize,
    pub intr: Option<u64>,
    pub ctxt: Option<u64>,
    pub processes: Option<u64>,
    pub procs_running: Option<u64>,
    pub procs_blocked: Option<u64>,
    /// `swap IN OUT` (Linux 2.4 only).
    pub swap: Option<(u64, u64)>,
}

/// Parses /proc/stat; unknown lines are ignored, unparsable numbers skipped.
pub fn parse(text: &str) -> Stat {
    let mut s = Stat::default();
    for line in text.lines() {
        let mut f = line.split_whitespace();
        let Some(key) = f.next() else { continue };
        let num = |x: Option<&str>| x.and_then(|v| v.parse::<u64>().ok());
        match key {
            "cpu" => s.cpu = f.map_while(|v| v.parse().ok()).collect(),
            k if k.starts_with("cpu") && k[3..].bytes().all(|b| b.is_ascii_digit()) => s.cpus += 1,
            "intr" => s.intr = num(f.next()),
            "ctxt" => s.ctxt = num(f.next()),
            "processes" => s.processes = num(f.next()),
            "procs_running" => s.procs_running = num(f.next()),
            "procs_blocked" => s.procs_blocked = num(f.next()),
            "swap" => {
                if let (Some(i), Some(o)) = (num(f.next()), num(f.next())) {
                    s.swap = Some((i, o));
                }
            }
            _ => {}
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn linux_6() {
        let s = parse(
            "cpu  298830 0 78215 858580 3852 0 643 1969 0 0\ncpu0 1 2 3 4 5 6 7 8 9 10\ncpu1 1 2 3 4 5 6 7 8 9 10\n\
             intr 3002968 24 0 0\nctxt 4125822\nbtime 1795305960\nprocesses 348817\nprocs_running 1\nprocs_blocked 0\n\
             softirq 1 2 3\n",
        );
        assert_eq!(
            s.cpu,
            vec![298830, 0, 78215, 858580, 3852, 0, 643, 1969, 0, 0]
        );
        assert_eq!(s.cpus, 2);
        assert_eq!(
            (s.intr, s.ctxt, s.processes),
            (Some(3002968), Some(4125822), Some(348817))
        );
        assert_eq!((s.procs_running, s.procs_blocked), (Some(1), Some(0)));
    }

    #[test]
    fn linux_2_4_and_garbage() {
        let s = parse("cpu  1 2 3 4\nswap 10 20\npage 1 2\nintr x\n\ngarbage\n");
        assert_eq!(s.cpu, vec![1, 2, 3, 4]);
        assert_eq!(s.swap, Some((10, 20)));
        assert_eq!(s.intr, None);
    }
}
