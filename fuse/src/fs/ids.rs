//! User and group names (what Alluxio records) ↔ numeric ids (what the
//! kernel needs), through the thread-safe `getpw*_r`/`getgr*_r` calls.
//!
//! A name this machine does not know is shown as its number if it is one,
//! else as the daemon's own id, so a file never appears owned by root by
//! accident of a missing account.

use std::collections::HashMap;
use std::ffi::{CStr, CString};
use std::sync::Mutex;

#[derive(Default)]
pub struct Ids {
    users: Mutex<HashMap<String, u32>>,
    groups: Mutex<HashMap<String, u32>>,
    user_names: Mutex<HashMap<u32, String>>,
    group_names: Mutex<HashMap<u32, String>>,
}

fn lookup_user(name: &str) -> Option<u32> {
    let c = CString::new(name).ok()?;
    let mut buf = vec![0u8; 4096];
    // SAFETY: all pointers are valid for the call; `pw` is only read when
    // `result` is non-null, which points at it.
    unsafe {
        let mut pw: libc::passwd = std::mem::zeroed();
        let mut result = std::ptr::null_mut();
        let rc = libc::getpwnam_r(
            c.as_ptr(),
            &mut pw,
            buf.as_mut_ptr().cast(),
            buf.len(),
            &mut result,
        );
        (rc == 0 && !result.is_null()).then_some(pw.pw_uid)
    }
}

fn lookup_group(name: &str) -> Option<u32> {
    let c = CString::new(name).ok()?;
    let mut buf = vec![0u8; 4096];
    // SAFETY: as in `lookup_user`.
    unsafe {
        let mut gr: libc::group = std::mem::zeroed();
        let mut result = std::ptr::null_mut();
        let rc = libc::getgrnam_r(
            c.as_ptr(),
            &mut gr,
            buf.as_mut_ptr().cast(),
            buf.len(),
            &mut result,
        );
        (rc == 0 && !result.is_null()).then_some(gr.gr_gid)
    }
}

/// The name of user `uid`, or the number as text.
pub fn user_name(uid: u32) -> String {
    let mut buf = vec![0u8; 4096];
    // SAFETY: as in `lookup_user`; the name is copied before `buf` drops.
    unsafe {
        let mut pw: libc::passwd = std::mem::zeroed();
        let mut result = std::ptr::null_mut();
        let rc = libc::getpwuid_r(
            uid,
            &mut pw,
            buf.as_mut_ptr().cast(),
            buf.len(),
            &mut result,
        );
        if rc == 0 && !result.is_null() {
            return CStr::from_ptr(pw.pw_name).to_string_lossy().into_owned();
        }
    }
    uid.to_string()
}

/// The name of group `gid`, or the number as text.
pub fn group_name(gid: u32) -> String {
    let mut buf = vec![0u8; 4096];
    // SAFETY: as in `user_name`.
    unsafe {
        let mut gr: libc::group = std::mem::zeroed();
        let mut result = std::ptr::null_mut();
        let rc = libc::getgrgid_r(
            gid,
            &mut gr,
            buf.as_mut_ptr().cast(),
            buf.len(),
            &mut result,
        );
        if rc == 0 && !result.is_null() {
            return CStr::from_ptr(gr.gr_name).to_string_lossy().into_owned();
        }
    }
    gid.to_string()
}

impl Ids {
    /// The name of user `uid` (cached), for the owner of new inodes.
    pub fn user_of(&self, uid: u32) -> String {
        let mut cache = self.user_names.lock().unwrap_or_else(|p| p.into_inner());
        cache.entry(uid).or_insert_with(|| user_name(uid)).clone()
    }

    /// The name of group `gid` (cached), for the group of new inodes.
    pub fn group_of(&self, gid: u32) -> String {
        let mut cache = self.group_names.lock().unwrap_or_else(|p| p.into_inner());
        cache.entry(gid).or_insert_with(|| group_name(gid)).clone()
    }

    /// The uid for owner `name`.
    pub fn uid(&self, name: &str) -> u32 {
        let mut cache = self.users.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(id) = cache.get(name) {
            return *id;
        }
        let id = lookup_user(name)
            .or_else(|| name.parse().ok())
            // SAFETY: geteuid cannot fail.
            .unwrap_or_else(|| unsafe { libc::geteuid() });
        cache.insert(name.to_string(), id);
        id
    }

    /// The gid for group `name`.
    pub fn gid(&self, name: &str) -> u32 {
        let mut cache = self.groups.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(id) = cache.get(name) {
            return *id;
        }
        let id = lookup_group(name)
            .or_else(|| name.parse().ok())
            // SAFETY: getegid cannot fail.
            .unwrap_or_else(|| unsafe { libc::getegid() });
        cache.insert(name.to_string(), id);
        id
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn root_round_trips() {
        let ids = Ids::default();
        assert_eq!(ids.uid(&user_name(0)), 0);
        assert_eq!(ids.gid(&group_name(0)), 0);
        assert_eq!(ids.uid("12345"), 12345);
    }
}
