//! The `process_*` metrics on Windows, under the names, types and HELP texts of the Linux
//! collector (`prometheus::process_collector`), so the dashboards and alerts work unchanged.
//!
//! The values are those of client_golang's Windows collector: CPU time from
//! `GetProcessTimes`, the working set as resident memory, the private bytes (commit charge)
//! as virtual memory, the open handles as `process_open_fds`, and 16777216 (the handle limit
//! of a Windows process) as `process_max_fds`. `process_threads` comes from a tool-help
//! snapshot of the processes. [`crate::metrics`] registers this collector when serving;
//! this module only reads the current process.

use std::mem::{size_of, zeroed};
use std::sync::Mutex;

use prometheus::core::{Collector, Desc};
use prometheus::{Counter, Gauge, IntGauge, Opts, proto};
use windows_sys::Win32::Foundation::{CloseHandle, FILETIME, INVALID_HANDLE_VALUE};
use windows_sys::Win32::System::Diagnostics::ToolHelp::{
    CreateToolhelp32Snapshot, PROCESSENTRY32W, Process32FirstW, Process32NextW, TH32CS_SNAPPROCESS,
};
use windows_sys::Win32::System::ProcessStatus::{
    K32GetProcessMemoryInfo, PROCESS_MEMORY_COUNTERS, PROCESS_MEMORY_COUNTERS_EX,
};
use windows_sys::Win32::System::Threading::{
    GetCurrentProcess, GetCurrentProcessId, GetProcessHandleCount, GetProcessTimes,
};

/// The most handles a Windows process can open (client_golang reports the same).
pub const MAX_HANDLES: i64 = 16_777_216;

/// Seconds between 1601-01-01 (the FILETIME epoch) and 1970-01-01.
const FILETIME_UNIX_OFFSET_SECS: f64 = 11_644_473_600.0;

/// The calling process's CPU time, memory, handles, threads and start time.
pub struct ProcessCollector {
    descs: Vec<Desc>,
    cpu: Counter,
    open_fds: IntGauge,
    max_fds: IntGauge,
    virtual_memory: IntGauge,
    resident_memory: IntGauge,
    start_time: Gauge,
    threads: IntGauge,
    /// Two scrapes at once would both add the same CPU time to the counter.
    collecting: Mutex<()>,
}

impl ProcessCollector {
    /// A collector of the calling process.
    pub fn for_self() -> ProcessCollector {
        let cpu = Counter::with_opts(Opts::new(
            "process_cpu_seconds_total",
            "Total user and system CPU time spent in seconds.",
        ))
        .expect("valid metric");
        let int = |name: &str, help: &str| {
            IntGauge::with_opts(Opts::new(name, help)).expect("valid metric")
        };
        let open_fds = int("process_open_fds", "Number of open file descriptors.");
        let max_fds = int(
            "process_max_fds",
            "Maximum number of open file descriptors.",
        );
        let virtual_memory = int(
            "process_virtual_memory_bytes",
            "Virtual memory size in bytes.",
        );
        let resident_memory = int(
            "process_resident_memory_bytes",
            "Resident memory size in bytes.",
        );
        let start_time = Gauge::with_opts(Opts::new(
            "process_start_time_seconds",
            "Start time of the process since unix epoch in seconds.",
        ))
        .expect("valid metric");
        let threads = int("process_threads", "Number of OS threads in the process.");
        max_fds.set(MAX_HANDLES);
        if let Some(times) = times() {
            start_time.set(times.start_unix);
        }
        let descs = [
            cpu.desc(),
            open_fds.desc(),
            max_fds.desc(),
            virtual_memory.desc(),
            resident_memory.desc(),
            start_time.desc(),
            threads.desc(),
        ]
        .into_iter()
        .flatten()
        .cloned()
        .collect();
        ProcessCollector {
            descs,
            cpu,
            open_fds,
            max_fds,
            virtual_memory,
            resident_memory,
            start_time,
            threads,
            collecting: Mutex::new(()),
        }
    }
}

impl Collector for ProcessCollector {
    fn desc(&self) -> Vec<&Desc> {
        self.descs.iter().collect()
    }

    fn collect(&self) -> Vec<proto::MetricFamily> {
        let _one = self.collecting.lock().unwrap_or_else(|e| e.into_inner());
        let mut families = Vec::with_capacity(7);
        // As on Linux, a value that cannot be read leaves its family out of this scrape.
        if let Some(t) = times() {
            let past = self.cpu.get();
            if t.cpu_seconds > past {
                self.cpu.inc_by(t.cpu_seconds - past);
            }
            families.extend(self.cpu.collect());
        }
        if let Some(handles) = handle_count() {
            self.open_fds.set(i64::from(handles));
            families.extend(self.open_fds.collect());
        }
        families.extend(self.max_fds.collect());
        if let Some(m) = memory() {
            self.virtual_memory.set(m.private_bytes);
            self.resident_memory.set(m.working_set);
            families.extend(self.virtual_memory.collect());
            families.extend(self.resident_memory.collect());
        }
        families.extend(self.start_time.collect());
        if let Some(n) = thread_count() {
            self.threads.set(i64::from(n));
            families.extend(self.threads.collect());
        }
        families
    }
}

/// What `GetProcessTimes` says of this process.
struct Times {
    /// User plus kernel time.
    cpu_seconds: f64,
    /// Creation time, in seconds since 1970.
    start_unix: f64,
}

/// A FILETIME as a count of 100 ns ticks.
fn ticks(t: FILETIME) -> u64 {
    (u64::from(t.dwHighDateTime) << 32) | u64::from(t.dwLowDateTime)
}

fn times() -> Option<Times> {
    // SAFETY: FILETIME is plain data; GetProcessTimes writes the four out-pointers, which
    // point at locals; the pseudo handle of GetCurrentProcess needs no closing.
    let (created, kernel, user) = unsafe {
        let mut created: FILETIME = zeroed();
        let mut exited: FILETIME = zeroed();
        let mut kernel: FILETIME = zeroed();
        let mut user: FILETIME = zeroed();
        if GetProcessTimes(
            GetCurrentProcess(),
            &mut created,
            &mut exited,
            &mut kernel,
            &mut user,
        ) == 0
        {
            return None;
        }
        (created, kernel, user)
    };
    Some(Times {
        cpu_seconds: (ticks(kernel) + ticks(user)) as f64 / 1e7,
        start_unix: ticks(created) as f64 / 1e7 - FILETIME_UNIX_OFFSET_SECS,
    })
}

fn handle_count() -> Option<u32> {
    let mut n = 0u32;
    // SAFETY: writes one u32 into a local.
    let ok = unsafe { GetProcessHandleCount(GetCurrentProcess(), &mut n) };
    (ok != 0).then_some(n)
}

/// Working set and private bytes.
struct Memory {
    working_set: i64,
    private_bytes: i64,
}

fn memory() -> Option<Memory> {
    // SAFETY: the _EX struct begins with the plain one; `cb` tells the call its full size.
    let m = unsafe {
        let mut m: PROCESS_MEMORY_COUNTERS_EX = zeroed();
        m.cb = size_of::<PROCESS_MEMORY_COUNTERS_EX>() as u32;
        if K32GetProcessMemoryInfo(
            GetCurrentProcess(),
            (&raw mut m).cast::<PROCESS_MEMORY_COUNTERS>(),
            m.cb,
        ) == 0
        {
            return None;
        }
        m
    };
    Some(Memory {
        working_set: i64::try_from(m.WorkingSetSize).unwrap_or(i64::MAX),
        private_bytes: i64::try_from(m.PrivateUsage).unwrap_or(i64::MAX),
    })
}

/// This process's thread count, from a snapshot of the system's processes (one entry each,
/// with its thread count: cheaper than a snapshot of every thread).
fn thread_count() -> Option<u32> {
    // SAFETY: the snapshot handle is checked and closed on every path; the entry's size
    // field is set before the first call, as the API requires.
    unsafe {
        let snapshot = CreateToolhelp32Snapshot(TH32CS_SNAPPROCESS, 0);
        if snapshot == INVALID_HANDLE_VALUE {
            return None;
        }
        let me = GetCurrentProcessId();
        let mut entry: PROCESSENTRY32W = zeroed();
        entry.dwSize = size_of::<PROCESSENTRY32W>() as u32;
        let mut found = None;
        let mut more = Process32FirstW(snapshot, &mut entry) != 0;
        while more {
            if entry.th32ProcessID == me {
                found = Some(entry.cntThreads);
                break;
            }
            more = Process32NextW(snapshot, &mut entry) != 0;
        }
        CloseHandle(snapshot);
        found
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::time::{SystemTime, UNIX_EPOCH};

    use prometheus::Registry;
    use prometheus::proto::MetricType;

    use super::*;

    /// name -> (type, help, value) of every family the collector gives.
    fn scrape() -> HashMap<String, (MetricType, String, f64)> {
        let registry = Registry::new();
        registry
            .register(Box::new(ProcessCollector::for_self()))
            .unwrap();
        registry
            .gather()
            .iter()
            .map(|f| {
                let m = &f.get_metric()[0];
                let value = match f.get_field_type() {
                    MetricType::COUNTER => m.get_counter().value(),
                    _ => m.get_gauge().value(),
                };
                (
                    f.name().to_string(),
                    (f.get_field_type(), f.help().to_string(), value),
                )
            })
            .collect()
    }

    #[test]
    fn every_family_with_a_sane_value() {
        // Some CPU time to count, and a thread besides the test's own.
        let spin = std::thread::spawn(|| {
            let t0 = std::time::Instant::now();
            let mut x = 0u64;
            while t0.elapsed() < std::time::Duration::from_millis(50) {
                x = std::hint::black_box(x.wrapping_add(1));
            }
            std::thread::sleep(std::time::Duration::from_millis(500));
            x
        });
        std::thread::sleep(std::time::Duration::from_millis(100));
        let got = scrape();
        spin.join().unwrap();
        let get = |name: &str| -> (MetricType, String, f64) {
            got.get(name)
                .unwrap_or_else(|| panic!("{name} missing: {:?}", got.keys()))
                .clone()
        };
        let (kind, help, cpu) = get("process_cpu_seconds_total");
        assert_eq!(kind, MetricType::COUNTER);
        assert_eq!(help, "Total user and system CPU time spent in seconds.");
        assert!(cpu > 0.0 && cpu < 3600.0, "cpu {cpu}");
        let (kind, _, rss) = get("process_resident_memory_bytes");
        assert_eq!(kind, MetricType::GAUGE);
        assert!((1e5..1e11).contains(&rss), "resident {rss}");
        let (_, _, vsize) = get("process_virtual_memory_bytes");
        assert!((0.0..1e12).contains(&vsize), "virtual {vsize}");
        let (_, help, handles) = get("process_open_fds");
        assert_eq!(help, "Number of open file descriptors.");
        assert!((0.0..1e6).contains(&handles), "handles {handles}");
        if under_wine() {
            // Wine answers GetProcessHandleCount with 0 and fills no private bytes.
            eprintln!(
                "under Wine: open handles {handles} and private bytes {vsize} are not checked for > 0"
            );
        } else {
            assert!(handles > 0.0, "handles {handles}");
            assert!(vsize > 1e5, "virtual {vsize}");
        }
        assert_eq!(get("process_max_fds").2, MAX_HANDLES as f64);
        let (_, _, threads) = get("process_threads");
        assert!((2.0..1e4).contains(&threads), "threads {threads}");
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs_f64();
        let (_, help, start) = get("process_start_time_seconds");
        assert_eq!(
            help,
            "Start time of the process since unix epoch in seconds."
        );
        assert!(
            start <= now + 1.0 && start > now - 3600.0,
            "start {start}, now {now}"
        );
        assert_eq!(got.len(), 7, "{:?}", got.keys());
    }

    /// Wine's ntdll exports `wine_get_version`; Windows' does not.
    fn under_wine() -> bool {
        use windows_sys::Win32::System::LibraryLoader::{GetModuleHandleW, GetProcAddress};
        let ntdll: Vec<u16> = "ntdll.dll\0".encode_utf16().collect();
        // SAFETY: both names are NUL-terminated; ntdll is always loaded.
        unsafe {
            let module = GetModuleHandleW(ntdll.as_ptr());
            !module.is_null()
                && GetProcAddress(module, c"wine_get_version".as_ptr().cast()).is_some()
        }
    }

    #[test]
    fn the_cpu_counter_never_goes_down() {
        let c = ProcessCollector::for_self();
        let first = c.cpu_value();
        let mut x = 0u64;
        for i in 0..5_000_000u64 {
            x = std::hint::black_box(x ^ i);
        }
        assert!(c.cpu_value() >= first);
    }

    impl ProcessCollector {
        fn cpu_value(&self) -> f64 {
            let families = self.collect();
            let f = families
                .iter()
                .find(|f| f.name() == "process_cpu_seconds_total")
                .expect("cpu family");
            f.get_metric()[0].get_counter().value()
        }
    }
}
