//! The LogStore operations on one table, with the put-if-absent semantics of
//! docs/object_stores.md.

use std::time::Duration;

use bytes::Bytes;
use futures::TryStreamExt;
use object_store::client::{HttpError, HttpErrorKind};
use object_store::path::Path;
use object_store::{Error, ObjectStore, ObjectStoreExt, PutMode, PutOptions, PutPayload};
use rand::Rng;

use crate::config::Opened;
use crate::gcs_json::Upload;

/// One conditional-create attempt, classified.
enum Attempt {
    Created,
    /// The name holds an object (412, or Azure's 409 BlobAlreadyExists).
    Taken,
    /// Transient; `ambiguous` when the attempt may have been applied.
    Retry {
        ambiguous: bool,
        detail: String,
    },
    Fatal(Failure),
}

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
        let mut message = format!(
            "{op} {}: {}",
            self.describe(rel),
            one_line(&err.to_string())
        );
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
            return Failure {
                code: Code::Unauthorized,
                message,
            };
        }
        Failure { code, message }
    }

    /// One conditional-create attempt, classified.
    async fn create_once(&self, rel: &str, path: &Path, payload: &Bytes) -> Attempt {
        if let Some(gcs) = &self.opened.gcs_writer {
            return match gcs.upload(path.as_ref(), payload, true).await {
                Upload::Created => Attempt::Created,
                Upload::Status(412, _) => Attempt::Taken,
                Upload::Status(s, body) if s == 408 || s == 429 || s >= 500 => Attempt::Retry {
                    // A 5xx may come after the object was written.
                    ambiguous: s >= 500,
                    detail: format!("HTTP {s}: {}", body.chars().take(200).collect::<String>()),
                },
                Upload::Status(s, body) => {
                    Attempt::Fatal(self.fail_status("put-if-absent", rel, s, &body))
                }
                Upload::Transport { sent, message } => Attempt::Retry {
                    ambiguous: sent,
                    detail: message,
                },
            };
        }
        let opts = PutOptions {
            mode: PutMode::Create,
            ..Default::default()
        };
        let result = self
            .opened
            .conditional
            .put_opts(path, PutPayload::from_bytes(payload.clone()), opts)
            .await;
        let err = match result {
            Ok(_) => return Attempt::Created,
            Err(e) => e,
        };
        if let Error::AlreadyExists { .. } = &err {
            // S3 answers 409 ConditionalRequestConflict while another
            // conditional write on the key is in flight: not "taken" yet,
            // retry. (object_store maps every 409 to AlreadyExists; Azure's
            // BlobAlreadyExists is a 409 that does mean taken.)
            let s3_conflict = self.opened.bucket.starts_with("s3://")
                && (err.to_string().contains("ConditionalRequestConflict")
                    || http_status(&err) == Some(409));
            return if s3_conflict {
                Attempt::Retry {
                    ambiguous: false,
                    detail: err.to_string(),
                }
            } else {
                Attempt::Taken
            };
        }
        if let Error::NotImplemented { .. } = &err {
            return Attempt::Fatal(self.fail("put-if-absent", rel, &err));
        }
        let (retry, ambiguous) = classify_create_failure(&err);
        if retry {
            Attempt::Retry {
                ambiguous,
                detail: err.to_string(),
            }
        } else {
            Attempt::Fatal(self.fail("put-if-absent", rel, &err))
        }
    }

    /// Whether the object at `rel` holds exactly `data` (an earlier attempt
    /// of ours landed).
    async fn holds(&self, rel: &str, data: &[u8]) -> bool {
        matches!(self.read(rel).await, Ok(existing) if existing.as_slice() == data)
    }

    pub async fn put_if_absent(&self, rel: &str, data: &[u8]) -> Result<(), Failure> {
        let path = self.full(rel)?;
        let payload = Bytes::copy_from_slice(data);
        let mut ambiguous = false;
        let mut attempt = 0;
        loop {
            match self.create_once(rel, &path, &payload).await {
                Attempt::Created => return Ok(()),
                Attempt::Taken => {
                    // After an attempt that may have landed, the object may be
                    // ours: same bytes means our commit, not a lost race.
                    if ambiguous && self.holds(rel, data).await {
                        return Ok(());
                    }
                    return Err(Failure {
                        code: Code::AlreadyExists,
                        message: format!("'{}' already exists", self.describe(rel)),
                    });
                }
                Attempt::Fatal(f) => return Err(f),
                Attempt::Retry {
                    ambiguous: a,
                    detail,
                } => {
                    ambiguous |= a;
                    attempt += 1;
                    if attempt >= CREATE_ATTEMPTS {
                        if ambiguous && self.holds(rel, data).await {
                            return Ok(());
                        }
                        return Err(Failure {
                            code: Code::Io,
                            message: format!(
                                "put-if-absent {}: gave up after {attempt} attempts on transient errors \
                                 (throttling, server errors or timeouts; tried {}); last: {detail}",
                                self.describe(rel),
                                self.opened.tried
                            ),
                        });
                    }
                    tokio::time::sleep(backoff(attempt)).await;
                }
            }
        }
    }

    pub async fn put(&self, rel: &str, data: &[u8]) -> Result<(), Failure> {
        let path = self.full(rel)?;
        if let Some(gcs) = &self.opened.gcs_writer {
            // An overwrite is idempotent: retry every transient failure.
            let mut attempt = 0;
            loop {
                let (retry, failure) = match gcs.upload(path.as_ref(), data, false).await {
                    Upload::Created => return Ok(()),
                    Upload::Status(s, body) => (
                        s == 408 || s == 429 || s >= 500,
                        self.fail_status("put", rel, s, &body),
                    ),
                    Upload::Transport { message, .. } => (
                        true,
                        Failure {
                            code: Code::Io,
                            message: format!("put {}: {message}", self.describe(rel)),
                        },
                    ),
                };
                attempt += 1;
                if !retry || attempt >= CREATE_ATTEMPTS {
                    return Err(failure);
                }
                tokio::time::sleep(backoff(attempt)).await;
            }
        }
        self.opened
            .store
            .put(&path, PutPayload::from_bytes(Bytes::copy_from_slice(data)))
            .await
            .map(|_| ())
            .map_err(|e| self.fail("put", rel, &e))
    }

    /// A refused write answered with an HTTP status (GCS JSON API).
    fn fail_status(&self, op: &str, rel: &str, status: u16, body: &str) -> Failure {
        let short: String = body.chars().take(300).collect();
        let message = format!("{op} {}: HTTP {status}: {short}", self.describe(rel));
        match status {
            401 | 403 => Failure {
                code: Code::Unauthorized,
                message: format!(
                    "access to bucket {} was refused (tried {}): {message}",
                    self.opened.bucket, self.opened.tried
                ),
            },
            404 => Failure {
                code: Code::Unauthorized,
                message: format!(
                    "bucket {} does not exist or is not reachable (tried {}): {message}",
                    self.opened.bucket, self.opened.tried
                ),
            },
            _ => Failure {
                code: Code::Io,
                message,
            },
        }
    }

    pub async fn read(&self, rel: &str) -> Result<Vec<u8>, Failure> {
        let path = self.full(rel)?;
        let got = self
            .opened
            .store
            .get(&path)
            .await
            .map_err(|e| self.fail("read", rel, &e))?;
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
        if let Some(gcs) = &self.opened.gcs_writer {
            // Idempotent: retry every transient failure.
            let mut attempt = 0;
            loop {
                let (retry, failure) = match gcs.delete(path.as_ref()).await {
                    Upload::Created => return Ok(()),
                    Upload::Status(s, body) => (
                        s == 408 || s == 429 || s >= 500,
                        self.fail_status("delete", rel, s, &body),
                    ),
                    Upload::Transport { message, .. } => (
                        true,
                        Failure {
                            code: Code::Io,
                            message: format!("delete {}: {message}", self.describe(rel)),
                        },
                    ),
                };
                attempt += 1;
                if !retry || attempt >= CREATE_ATTEMPTS {
                    return Err(failure);
                }
                tokio::time::sleep(backoff(attempt)).await;
            }
        }
        match self.opened.store.delete(&path).await {
            Ok(()) | Err(Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(self.fail("delete", rel, &e)),
        }
    }

    /// Objects directly inside `dir` whose name is >= `start`, by name.
    pub async fn list_from(&self, dir: &str, start: &str) -> Result<Vec<Entry>, Failure> {
        let dir_path = self.full(dir)?;
        // A table at the bucket's root lists from the empty path.
        let dir_prefix = if dir_path.as_ref().is_empty() {
            String::new()
        } else {
            format!("{}/", dir_path.as_ref())
        };
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
        let metas: Vec<_> = stream.try_collect().await.map_err(|e| match e {
            // Listing a prefix never answers 404 unless the bucket is missing.
            Error::NotFound { .. } => Failure {
                code: Code::Unauthorized,
                message: format!(
                    "bucket {} does not exist or is not reachable (tried {}): list {}: {}",
                    self.opened.bucket,
                    self.opened.tried,
                    self.describe(dir),
                    one_line(&e.to_string())
                ),
            },
            e => self.fail("list", dir, &e),
        })?;
        let mut out = Vec::new();
        for meta in metas {
            let full = meta.location.as_ref();
            let Some(name) = full.strip_prefix(&dir_prefix) else {
                continue;
            };
            if name.contains('/') || name < start {
                continue;
            }
            let rel = if dir.is_empty() {
                name.to_string()
            } else {
                format!("{dir}/{name}")
            };
            out.push(Entry {
                name: rel,
                size: meta.size,
                mtime_ms: meta.last_modified.timestamp_millis(),
            });
        }
        out.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(out)
    }
    /// Every object under `dir` (at any depth) whose path relative to `dir`
    /// sorts after `after` (all when empty), by path; names are relative to
    /// `dir`. One listing request per 1,000 objects, starting at `after`:
    /// a source's time-ordered folder is listed from its cursor on, not
    /// from its beginning.
    pub async fn list_tree_after(&self, dir: &str, after: &str) -> Result<Vec<Entry>, Failure> {
        let dir_path = self.full(dir)?;
        let dir_prefix = if dir_path.as_ref().is_empty() {
            String::new()
        } else {
            format!("{}/", dir_path.as_ref())
        };
        let stream = if after.is_empty() {
            self.opened.store.list(Some(&dir_path))
        } else {
            // Offsets are exclusive: exactly "after `after`".
            let offset = Path::parse(format!("{dir_prefix}{after}")).map_err(|e| Failure {
                code: Code::Invalid,
                message: format!("invalid list offset: {e}"),
            })?;
            self.opened.store.list_with_offset(Some(&dir_path), &offset)
        };
        let metas: Vec<_> = stream
            .try_collect()
            .await
            .map_err(|e| self.list_failure(dir, e))?;
        let mut out = Vec::new();
        for meta in metas {
            let Some(name) = meta.location.as_ref().strip_prefix(&dir_prefix) else {
                continue;
            };
            if name.is_empty() || name <= after {
                continue;
            }
            out.push(Entry {
                name: name.to_string(),
                size: meta.size,
                mtime_ms: meta.last_modified.timestamp_millis(),
            });
        }
        out.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(out)
    }

    /// The names of the folders directly under `dir` (one delimited
    /// listing), sorted.
    pub async fn list_folders(&self, dir: &str) -> Result<Vec<String>, Failure> {
        let dir_path = self.full(dir)?;
        let listing = self
            .opened
            .store
            .list_with_delimiter(Some(&dir_path))
            .await
            .map_err(|e| self.list_failure(dir, e))?;
        let mut out: Vec<String> = listing
            .common_prefixes
            .iter()
            .filter_map(|p| p.filename().map(|f| f.to_string()))
            .collect();
        out.sort();
        Ok(out)
    }

    fn list_failure(&self, dir: &str, e: Error) -> Failure {
        match e {
            // Listing a prefix never answers 404 unless the bucket is missing.
            Error::NotFound { .. } => Failure {
                code: Code::Unauthorized,
                message: format!(
                    "bucket {} does not exist or is not reachable (tried {}): list {}: {}",
                    self.opened.bucket,
                    self.opened.tried,
                    self.describe(dir),
                    one_line(&e.to_string())
                ),
            },
            e => self.fail("list", dir, &e),
        }
    }
}

/// The store's answer on one line, bounded: error bodies are XML documents.
fn one_line(text: &str) -> String {
    let flat: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if flat.chars().count() > 600 {
        format!("{}…", flat.chars().take(600).collect::<String>())
    } else {
        flat
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
        // fake-gcs-server's answer (a 500) where GCS answers 404 NoSuchBucket.
        || text.contains("no bucket named")
}
