//! The user and group this process runs as, by name (Alluxio records owners
//! by name, not number).

/// Returns `(user, group)` names of the effective ids, falling back to the
/// numbers when the names are unknown.
pub fn current_user_group() -> (String, String) {
    // SAFETY: geteuid/getegid cannot fail; getpwuid/getgrgid return null or a
    // pointer into static storage that we copy out of at once. Called from
    // start-up code, before threads that use these functions exist.
    unsafe {
        let uid = libc::geteuid();
        let gid = libc::getegid();
        let user = {
            let pw = libc::getpwuid(uid);
            if pw.is_null() {
                uid.to_string()
            } else {
                std::ffi::CStr::from_ptr((*pw).pw_name)
                    .to_string_lossy()
                    .into_owned()
            }
        };
        let group = {
            let gr = libc::getgrgid(gid);
            if gr.is_null() {
                gid.to_string()
            } else {
                std::ffi::CStr::from_ptr((*gr).gr_name)
                    .to_string_lossy()
                    .into_owned()
            }
        };
        (user, group)
    }
}
