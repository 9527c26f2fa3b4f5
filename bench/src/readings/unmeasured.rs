//! The readings where the bench cannot take them (anywhere but 64-bit Linux): every one is
//! "not measured", and the cases print `n/a` for the figures that need it.

/// Whether this platform gives the readings at all.
pub const MEASURED: bool = false;

/// Not measured here: always `None`.
pub fn proc_status(_pid: u32, _field: &str) -> Option<u64> {
    None
}

/// Not measured here: always `None`.
pub fn own_cpu_seconds() -> Option<f64> {
    None
}

/// Not measured here: always `None`.
pub fn process_cpu_seconds(_pid: u32) -> Option<f64> {
    None
}

/// Neither read nor raised here: always `None`. A case that needs more descriptors than the
/// limit allows fails with the error of the connection that did not open.
pub fn raise_open_file_limit() -> Option<u64> {
    None
}
