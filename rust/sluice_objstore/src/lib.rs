//! Sluice's access to a Delta commit log on an object store: a tiny C ABI
//! over the `object_store` crate, which implements each cloud's conditional
//! create (S3 `If-None-Match: *`, GCS `ifGenerationMatch=0`, Azure
//! `If-None-Match: *`) and its credential chains. The C++ side
//! (src/sluice/io/object_log_store.cc) wraps it as an io::LogStore; the
//! contract of each function is in src/sluice/io/objstore_ffi.h.

mod config;
mod ffi;
mod gcs_json;
mod store;
