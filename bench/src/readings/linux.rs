//! The readings on Linux: `/proc/PID/status` for memory and threads, the kernel's CPU clocks for
//! CPU time, and `getrlimit`/`setrlimit` for the open-file limit.

use std::fs;

/// Whether this platform gives the readings at all.
pub const MEASURED: bool = true;

/// A field of `/proc/PID/status` in its unit (kB for memory), e.g. `VmRSS` or `Threads`.
pub fn proc_status(pid: u32, field: &str) -> Option<u64> {
    let status = fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status.lines().find_map(|line| {
        let value = line.strip_prefix(field)?.strip_prefix(':')?;
        value.split_whitespace().next()?.parse().ok()
    })
}

/// CPU time (user + system, all threads, ended ones too) of this process, in seconds.
pub fn own_cpu_seconds() -> Option<f64> {
    cpu_clock_seconds(CLOCK_PROCESS_CPUTIME_ID)
}

/// CPU time of another process, in seconds, from its kernel CPU clock (exact to the ns, unlike
/// the 10 ms ticks of `/proc/PID/stat`: a burst may last only tens of ms).
pub fn process_cpu_seconds(pid: u32) -> Option<f64> {
    let mut clock = 0;
    // SAFETY: `clock` is a valid place for the clock id; the call writes nothing else.
    let status = unsafe { clock_getcpuclockid(pid as i32, &mut clock) };
    if status != 0 {
        return None;
    }
    cpu_clock_seconds(clock)
}

fn cpu_clock_seconds(clock: i32) -> Option<f64> {
    let mut now = Timespec { sec: 0, nsec: 0 };
    // SAFETY: `now` is a valid, writable timespec of the C layout.
    let status = unsafe { clock_gettime(clock, &mut now) };
    (status == 0).then(|| now.sec as f64 + now.nsec as f64 / 1e9)
}

/// Raises this process's open-file limit to its hard limit, and returns the new limit (`None`
/// when it cannot be read). Children started afterwards (the server) inherit it.
pub fn raise_open_file_limit() -> Option<u64> {
    let mut limit = RLimit { cur: 0, max: 0 };
    // SAFETY: `limit` is a valid, writable rlimit of the C layout.
    if unsafe { getrlimit(RLIMIT_NOFILE, &mut limit) } != 0 {
        return None;
    }
    if limit.cur < limit.max {
        let raised = RLimit {
            cur: limit.max,
            max: limit.max,
        };
        // SAFETY: `raised` is a valid rlimit; the call only reads it.
        if unsafe { setrlimit(RLIMIT_NOFILE, &raised) } == 0 {
            return Some(raised.cur);
        }
    }
    Some(limit.cur)
}

// The C side: std links libc already, so declaring the few calls the bench needs is enough.
// Layouts and constants are those of Linux on 64-bit targets (the gate in readings.rs).

#[repr(C)]
struct RLimit {
    cur: u64,
    max: u64,
}

#[repr(C)]
struct Timespec {
    sec: i64,
    nsec: i64,
}

const RLIMIT_NOFILE: i32 = 7;
const CLOCK_PROCESS_CPUTIME_ID: i32 = 2;

unsafe extern "C" {
    fn getrlimit(resource: i32, limit: *mut RLimit) -> i32;
    fn setrlimit(resource: i32, limit: *const RLimit) -> i32;
    fn clock_getcpuclockid(pid: i32, clock: *mut i32) -> i32;
    fn clock_gettime(clock: i32, now: *mut Timespec) -> i32;
}
