//! The C ABI (declared in src/sluice/io/objstore_ffi.h). Every function
//! returns a code of store::Code; on failure `*err` receives a message the
//! caller frees with sluice_os_free. No panic crosses the boundary.

use std::ffi::{c_char, CStr, CString};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::OnceLock;

use crate::config;
use crate::store::{Code, Entry, Failure, TableStore};

pub struct Handle {
    store: TableStore,
}

fn runtime() -> &'static tokio::runtime::Runtime {
    static RT: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("sluice-objstore")
            .enable_all()
            .build()
            .expect("tokio runtime")
    })
}

unsafe fn set_err(err: *mut *mut c_char, message: &str) {
    if err.is_null() {
        return;
    }
    let clean = message.replace('\0', " ");
    *err = CString::new(clean)
        .map(|c| c.into_raw())
        .unwrap_or(std::ptr::null_mut());
}

unsafe fn str_arg<'a>(p: *const c_char) -> Result<&'a str, Failure> {
    if p.is_null() {
        return Err(Failure {
            code: Code::Invalid,
            message: "null string argument".into(),
        });
    }
    CStr::from_ptr(p).to_str().map_err(|_| Failure {
        code: Code::Invalid,
        message: "argument is not UTF-8".into(),
    })
}

unsafe fn slice_arg<'a>(data: *const u8, len: usize) -> &'a [u8] {
    if data.is_null() || len == 0 {
        &[]
    } else {
        std::slice::from_raw_parts(data, len)
    }
}

/// Runs `f`, reporting a failure or a panic through `err`.
unsafe fn guard<F>(err: *mut *mut c_char, f: F) -> i32
where
    F: FnOnce() -> Result<(), Failure>,
{
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(Ok(())) => Code::Ok as i32,
        Ok(Err(fail)) => {
            set_err(err, &fail.message);
            fail.code as i32
        }
        Err(_) => {
            set_err(err, "internal error (panic) in the object store library");
            Code::Io as i32
        }
    }
}

unsafe fn handle<'a>(h: *const Handle) -> Result<&'a Handle, Failure> {
    h.as_ref().ok_or(Failure {
        code: Code::Invalid,
        message: "null store handle".into(),
    })
}

fn give_bytes(v: Vec<u8>, out: *mut *mut u8, out_len: *mut usize) {
    let boxed = v.into_boxed_slice();
    let len = boxed.len();
    let ptr = Box::into_raw(boxed) as *mut u8;
    unsafe {
        *out = ptr;
        *out_len = len;
    }
}

#[no_mangle]
pub unsafe extern "C" fn sluice_os_open(
    url: *const c_char,
    out: *mut *mut Handle,
    err: *mut *mut c_char,
) -> i32 {
    guard(err, || {
        let url = str_arg(url)?;
        let opened = config::open(url).map_err(|m| Failure {
            code: Code::Invalid,
            message: m,
        })?;
        let h = Box::new(Handle {
            store: TableStore::new(opened),
        });
        *out = Box::into_raw(h);
        Ok(())
    })
}

#[no_mangle]
pub unsafe extern "C" fn sluice_os_close(h: *mut Handle) {
    if !h.is_null() {
        drop(Box::from_raw(h));
    }
}

#[no_mangle]
pub unsafe extern "C" fn sluice_os_free(p: *mut c_char) {
    if !p.is_null() {
        drop(CString::from_raw(p));
    }
}

#[no_mangle]
pub unsafe extern "C" fn sluice_os_free_bytes(p: *mut u8, len: usize) {
    if !p.is_null() {
        drop(Box::from_raw(std::ptr::slice_from_raw_parts_mut(p, len)));
    }
}

#[no_mangle]
pub unsafe extern "C" fn sluice_os_put_if_absent(
    h: *const Handle,
    path: *const c_char,
    data: *const u8,
    len: usize,
    err: *mut *mut c_char,
) -> i32 {
    guard(err, || {
        let h = handle(h)?;
        let path = str_arg(path)?;
        let data = slice_arg(data, len);
        runtime().block_on(h.store.put_if_absent(path, data))
    })
}

#[no_mangle]
pub unsafe extern "C" fn sluice_os_put(
    h: *const Handle,
    path: *const c_char,
    data: *const u8,
    len: usize,
    err: *mut *mut c_char,
) -> i32 {
    guard(err, || {
        let h = handle(h)?;
        let path = str_arg(path)?;
        let data = slice_arg(data, len);
        runtime().block_on(h.store.put(path, data))
    })
}

#[no_mangle]
pub unsafe extern "C" fn sluice_os_read(
    h: *const Handle,
    path: *const c_char,
    out: *mut *mut u8,
    out_len: *mut usize,
    err: *mut *mut c_char,
) -> i32 {
    guard(err, || {
        let h = handle(h)?;
        let path = str_arg(path)?;
        let v = runtime().block_on(h.store.read(path))?;
        give_bytes(v, out, out_len);
        Ok(())
    })
}

/// `*exists` = 0 when missing; else size and mtime are filled.
#[no_mangle]
pub unsafe extern "C" fn sluice_os_head(
    h: *const Handle,
    path: *const c_char,
    exists: *mut i32,
    size: *mut i64,
    mtime_ms: *mut i64,
    err: *mut *mut c_char,
) -> i32 {
    guard(err, || {
        let h = handle(h)?;
        let path = str_arg(path)?;
        match runtime().block_on(h.store.head(path))? {
            Some(e) => {
                *exists = 1;
                *size = e.size as i64;
                *mtime_ms = e.mtime_ms;
            }
            None => *exists = 0,
        }
        Ok(())
    })
}

#[no_mangle]
pub unsafe extern "C" fn sluice_os_delete(
    h: *const Handle,
    path: *const c_char,
    err: *mut *mut c_char,
) -> i32 {
    guard(err, || {
        let h = handle(h)?;
        let path = str_arg(path)?;
        runtime().block_on(h.store.delete(path))
    })
}

/// The listing as text, one entry a line: `size\tmtime_ms\tpath\n` (Delta
/// log names hold no tab or newline).
#[no_mangle]
pub unsafe extern "C" fn sluice_os_list_from(
    h: *const Handle,
    dir: *const c_char,
    start: *const c_char,
    out: *mut *mut u8,
    out_len: *mut usize,
    err: *mut *mut c_char,
) -> i32 {
    guard(err, || {
        let h = handle(h)?;
        let dir = str_arg(dir)?;
        let start = str_arg(start)?;
        let entries: Vec<Entry> = runtime().block_on(h.store.list_from(dir, start))?;
        let mut text = String::new();
        for e in entries {
            text.push_str(&format!("{}\t{}\t{}\n", e.size, e.mtime_ms, e.name));
        }
        give_bytes(text.into_bytes(), out, out_len);
        Ok(())
    })
}

/// Every object under `dir` after `after` (relative to `dir`), as lines
/// `size\tmtime_ms\tpath\n`.
#[no_mangle]
pub unsafe extern "C" fn sluice_os_list_tree_after(
    h: *const Handle,
    dir: *const c_char,
    after: *const c_char,
    out: *mut *mut u8,
    out_len: *mut usize,
    err: *mut *mut c_char,
) -> i32 {
    guard(err, || {
        let h = handle(h)?;
        let dir = str_arg(dir)?;
        let after = str_arg(after)?;
        let entries: Vec<Entry> = runtime().block_on(h.store.list_tree_after(dir, after))?;
        let mut text = String::new();
        for e in entries {
            text.push_str(&format!("{}\t{}\t{}\n", e.size, e.mtime_ms, e.name));
        }
        give_bytes(text.into_bytes(), out, out_len);
        Ok(())
    })
}

/// The folders directly under `dir`, one name a line.
#[no_mangle]
pub unsafe extern "C" fn sluice_os_list_folders(
    h: *const Handle,
    dir: *const c_char,
    out: *mut *mut u8,
    out_len: *mut usize,
    err: *mut *mut c_char,
) -> i32 {
    guard(err, || {
        let h = handle(h)?;
        let dir = str_arg(dir)?;
        let names = runtime().block_on(h.store.list_folders(dir))?;
        let mut text = String::new();
        for n in names {
            text.push_str(&n);
            text.push('\n');
        }
        give_bytes(text.into_bytes(), out, out_len);
        Ok(())
    })
}

#[no_mangle]
pub unsafe extern "C" fn sluice_os_describe(
    h: *const Handle,
    path: *const c_char,
    out: *mut *mut c_char,
) -> i32 {
    let mut ignored: *mut c_char = std::ptr::null_mut();
    guard(&mut ignored, || {
        let h = handle(h)?;
        let path = str_arg(path)?;
        set_err(out, &h.store.describe(path));
        Ok(())
    })
}
