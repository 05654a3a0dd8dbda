//! The LogStore operations on one table, with the put-if-absent semantics of
//! docs/object_stores.md.

use std::time::Duration;

use bytes::Bytes;
use futures::TryStreamExt;
use object_store::client::{HttpError, HttpErrorKind};
use object_store::path::Path;
use object_store::{Error, ObjectStore, PutMode, PutOptions, PutPayload};
use rand::Rng;

use crate::config::Opened;

/// Outcome classes the C side maps to Arrow statuses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Code {
    Ok = 0,
    NotFound = 1,
    AlreadyExists = 2,
    Invalid = 3,
    Unauthorized = 4,
    Io = 5,
}

pub struct Failure {
    pub code: Code,
    pub message: String,
}

pub struct Entry {
    pub name: String,
    pub size: u64,
    pub mtime_ms: i64,
}

/// Attempts of one conditional create (the first plus retries).
const CREATE_ATTEMPTS: u32 = 8;

pub struct TableStore {
    opened: Opened,
}

/// The HTTP status somewhere in an error's source chain, if any. Only the
/// Display of object_store's request error carries it, so read it there.
fn http_status(err: &Error) -> Option<u16> {
    let mut current: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(e) = current {
        let text = e.to_string();
        if let Some(pos) = text.find("non-2xx status code: ") {
            let rest = &text[pos + "non-2xx status code: ".len()..];
            if let Ok(code) = rest.chars().take(3).collect::<String>().parse::<u16>() {
                return Some(code);
            }
        }
        current = e.source();
    }
    None
}

fn transport_kind(err: &Error) -> Option<HttpErrorKind> {
    let mut current: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(e) = current {
        if let Some(h) = e.downcast_ref::<HttpError>() {
            return Some(h.kind());
        }
        current = e.source();
    }
    None
}

/// Whether a failed conditional create may have been applied by the store
/// (the request reached it but no answer came back, or the store failed
/// after receiving it), and whether it is worth retrying at all.
fn classify_create_failure(err: &Error) -> (bool /*retry*/, bool /*ambiguous*/) {
    if let Some(kind) = transport_kind(err) {
        return match kind {
            HttpErrorKind::Connect => (true, false),
            HttpErrorKind::Request => (true, true),
            HttpErrorKind::Timeout | HttpErrorKind::Interrupted => (true, true),
            HttpErrorKind::Unknown | HttpErrorKind::Decode => (true, true),
            _ => (true, true),
        };
    }
    match http_status(err) {
        Some(408) | Some(429) => (true, false),
        Some(s) if s >= 500 => (true, true),
        _ => (false, false),
    }
}

fn backoff(attempt: u32) -> Duration {
    let base = 100u64 << attempt.min(6);
    let capped = base.min(5_000);
    let jitter = rand::rng().random_range(0..=capped / 2);
    Duration::from_millis(capped / 2 + jitter)
}

impl TableStore {
    pub fn new(opened: Opened) -> Self {
        TableStore { opened }
    }

    fn full(&self, rel: &str) -> Result<Path, Failure> {
        let joined = if self.opened.prefix.is_empty() {
            rel.to_string()
        } else if rel.is_empty() {
            self.opened.prefix.clone()
        } else {
            format!("{}/{}", self.opened.prefix, rel)
        };
        Path::parse(&joined).map_err(|e| Failure {
            code: Code::Invalid,
            message: format!("invalid object path '{joined}': {e}"),
        })
    }

    pub fn describe(&self, rel: &str) -> String {
        let p = if self.opened.prefix.is_empty() {
            rel.to_string()
        } else {
            format!("{}/{}", self.opened.prefix, rel)
        };
        format!("{}/{}", self.opened.bucket, p)
    }

    /// One clear message: operation, object, the store's answer, and what
    /// was tried (credentials source, endpoint) when access failed.
    fn fail(&self, op: &str, rel: &str, err: &Error) -> Failure {
        let code = match err {
            Error::NotFound { .. } => Code::NotFound,
            Error::AlreadyExists { .. } => Code::AlreadyExists,
            Error::PermissionDenied { .. } | Error::Unauthenticated { .. } => Code::Unauthorized,
            _ => Code::Io,
        };
        let mut message = format!("{op} {}: {err}", self.describe(rel));
        let status = http_status(err);
        let hint = match (code, status) {
            (Code::Unauthorized, _) | (_, Some(401)) | (_, Some(403)) => Some(format!(
                "access to bucket {} was refused (tried {})",
                self.opened.bucket, self.opened.tried
            )),
            _ if is_missing_bucket(err) => Some(format!(
                "bucket {} does not exist or is not reachable (tried {})",
                self.opened.bucket, self.opened.tried
            )),
            _ => None,
        };
        if let Some(h) = hint {
            message = format!("{h}: {message}");
            return Failure { code: Code::Unauthorized, message };
        }
        Failure { code, message }
    }

    pub async fn put_if_absent(&self, rel: &str, data: &[u8]) -> Result<(), Failure> {
        let path = self.full(rel)?;
        let payload = Bytes::copy_from_slice(data);
        let mut ambiguous = false;
        let mut attempt = 0;
        loop {
            let opts = PutOptions { mode: PutMode::Create, ..Default::default() };
            let result = self
                .opened
                .conditional
                .put_opts(&path, PutPayload::from_bytes(payload.clone()), opts)
                .await;
            let err = match result {
                Ok(_) => return Ok(()),
                Err(e) => e,
            };
            match &err {
                Error::AlreadyExists { .. } => {
                    // S3 answers 409 ConditionalRequestConflict while another
                    // conditional write on the key is in flight: not "taken"
                    // yet, retry. (object_store maps every 409 to
                    // AlreadyExists; Azure's BlobAlreadyExists is also a 409.)
                    let s3_conflict = self.opened.bucket.starts_with("s3://")
                        && (err.to_string().contains("ConditionalRequestConflict")
                            || http_status(&err) == Some(409));
                    if s3_conflict && attempt + 1 < CREATE_ATTEMPTS {
                        attempt += 1;
                        tokio::time::sleep(backoff(attempt)).await;
                        continue;
                    }
                    if !s3_conflict {
                        if ambiguous {
                            // An earlier attempt may have landed: ours if the
                            // content is byte-identical.
                            if let Ok(existing) = self.read(rel).await {
                                if existing.as_slice() == data {
                                    return Ok(());
                                }
                            }
                        }
                        return Err(Failure {
                            code: Code::AlreadyExists,
                            message: format!("'{}' already exists", self.describe(rel)),
                        });
                    }
                    return Err(self.fail("put-if-absent", rel, &err));
                }
                Error::NotImplemented { .. } => return Err(self.fail("put-if-absent", rel, &err)),
                _ => {}
            }
            let (retry, maybe_applied) = classify_create_failure(&err);
            ambiguous |= maybe_applied;
            if !retry || attempt + 1 >= CREATE_ATTEMPTS {
                // Before giving up after an ambiguous attempt, check whether it
                // landed after all.
                if ambiguous {
                    if let Ok(existing) = self.read(rel).await {
                        if existing.as_slice() == data {
                            return Ok(());
                        }
                    }
                }
                return Err(self.fail("put-if-absent", rel, &err));
            }
            attempt += 1;
            tokio::time::sleep(backoff(attempt)).await;
        }
    }

    pub async fn put(&self, rel: &str, data: &[u8]) -> Result<(), Failure> {
        let path = self.full(rel)?;
        self.opened
            .store
            .put(&path, PutPayload::from_bytes(Bytes::copy_from_slice(data)))
            .await
            .map(|_| ())
            .map_err(|e| self.fail("put", rel, &e))
    }

    pub async fn read(&self, rel: &str) -> Result<Vec<u8>, Failure> {
        let path = self.full(rel)?;
        let got = self.opened.store.get(&path).await.map_err(|e| self.fail("read", rel, &e))?;
        let bytes = got.bytes().await.map_err(|e| self.fail("read", rel, &e))?;
        Ok(bytes.to_vec())
    }

    pub async fn head(&self, rel: &str) -> Result<Option<Entry>, Failure> {
        let path = self.full(rel)?;
        match self.opened.store.head(&path).await {
            Ok(meta) => Ok(Some(Entry {
                name: rel.to_string(),
                size: meta.size,
                mtime_ms: meta.last_modified.timestamp_millis(),
            })),
            Err(Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(self.fail("head", rel, &e)),
        }
    }

    pub async fn delete(&self, rel: &str) -> Result<(), Failure> {
        let path = self.full(rel)?;
        match self.opened.store.delete(&path).await {
            Ok(()) | Err(Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(self.fail("delete", rel, &e)),
        }
    }

    /// Objects directly inside `dir` whose name is >= `start`, by name.
    pub async fn list_from(&self, dir: &str, start: &str) -> Result<Vec<Entry>, Failure> {
        let dir_path = self.full(dir)?;
        let dir_prefix = format!("{}/", dir_path.as_ref());
        // Listing offsets are exclusive; start just before `start` by
        // dropping its last character and filtering the few extra names.
        let stream = if start.is_empty() {
            self.opened.store.list(Some(&dir_path))
        } else {
            let mut s = start.to_string();
            s.pop();
            let offset = Path::parse(format!("{dir_prefix}{s}")).map_err(|e| Failure {
                code: Code::Invalid,
                message: format!("invalid list offset: {e}"),
            })?;
            self.opened.store.list_with_offset(Some(&dir_path), &offset)
        };
        let metas: Vec<_> =
            stream.try_collect().await.map_err(|e| self.fail("list", dir, &e))?;
        let mut out = Vec::new();
        for meta in metas {
            let full = meta.location.as_ref();
            let Some(name) = full.strip_prefix(&dir_prefix) else { continue };
            if name.contains('/') || name < start {
                continue;
            }
            let rel = if dir.is_empty() { name.to_string() } else { format!("{dir}/{name}") };
            out.push(Entry { name: rel, size: meta.size, mtime_ms: meta.last_modified.timestamp_millis() });
        }
        out.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(out)
    }
}

/// A missing bucket: S3 `NoSuchBucket`, GCS "bucket does not exist", Azure
/// `ContainerNotFound`.
fn is_missing_bucket(err: &Error) -> bool {
    let text = format!("{err:?} {err}");
    text.contains("NoSuchBucket")
        || text.contains("ContainerNotFound")
        || text.contains("The specified bucket does not exist")
        || text.contains("bucket does not exist")
}
