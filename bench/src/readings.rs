//! The few readings of a process the bench takes: CPU time (its own and the server's), the
//! server's resident memory and threads, and the open-file limit, which it raises before it
//! starts a server. The kernel gives them (`/proc` and four calls into the C library std links
//! already), so only Linux has them here; the cases ask this module and never the OS.
//!
//! Elsewhere the bench still runs every case and checks every delivery: each reading is `None`,
//! which a case reports as `n/a`, as it does for a server the bench did not start. The C
//! layouts in `linux.rs` are those of 64-bit Linux, hence the pointer width in the gate.

#[cfg(all(target_os = "linux", target_pointer_width = "64"))]
#[allow(unsafe_code)] // the C calls; the rest of the bench denies unsafe code
mod linux;
#[cfg(all(target_os = "linux", target_pointer_width = "64"))]
pub use linux::{
    MEASURED, own_cpu_seconds, proc_status, process_cpu_seconds, raise_open_file_limit,
};

#[cfg(not(all(target_os = "linux", target_pointer_width = "64")))]
mod unmeasured;
#[cfg(not(all(target_os = "linux", target_pointer_width = "64")))]
pub use unmeasured::{
    MEASURED, own_cpu_seconds, proc_status, process_cpu_seconds, raise_open_file_limit,
};

/// CPU seconds spent between two readings of one clock, when both were taken.
pub fn spent(before: Option<f64>, after: Option<f64>) -> Option<f64> {
    Some(after? - before?)
}
