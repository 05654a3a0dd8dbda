//! Builds an object store for a table URI from each ecosystem's standard
//! variables, the same ones the C++ side gives Arrow's filesystems
//! (src/sluice/io/object_store_config.cc), so one configuration drives all
//! I/O of a path.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use object_store::aws::AmazonS3Builder;
use object_store::azure::MicrosoftAzureBuilder;
use object_store::gcp::GoogleCloudStorageBuilder;
use object_store::{BackoffConfig, ClientOptions, ObjectStore, RetryConfig};

/// A store rooted at a table: `prefix` is the table's path inside the bucket
/// (no leading or trailing '/').
pub struct Opened {
    /// For reads, lists, deletes and overwrites: object_store retries
    /// transient errors itself (these requests are idempotent).
    pub store: Arc<dyn ObjectStore>,
    /// For conditional creates: no retries inside object_store, so that the
    /// caller sees every ambiguous attempt and can recognise its own write.
    pub conditional: Arc<dyn ObjectStore>,
    pub prefix: String,
    /// "s3://bucket", for messages.
    pub bucket: String,
    /// Where credentials came from and which endpoint, for messages.
    pub tried: String,
    /// GCS only: writes go through the JSON API (src/gcs_json.rs).
    pub gcs_writer: Option<crate::gcs_json::GcsWriter>,
}

fn env(key: &str) -> Option<String> {
    std::env::var(key).ok().filter(|v| !v.is_empty())
}

fn retry(max_retries: usize) -> RetryConfig {
    RetryConfig {
        backoff: BackoffConfig {
            init_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(5),
            base: 2.0,
        },
        max_retries,
        retry_timeout: Duration::from_secs(60),
    }
}

/// `key=value;key=value` (Azure connection strings).
pub fn parse_connection_string(s: &str) -> HashMap<String, String> {
    s.split(';')
        .filter_map(|kv| {
            let (k, v) = kv.split_once('=')?;
            Some((k.trim().to_string(), v.trim().to_string()))
        })
        .collect()
}

/// Static keys of `profile` in the shared credentials file (AWS_PROFILE):
/// object_store has no profile support, and only the static-key form is
/// read here; SSO and process credentials need the variables set instead.
fn aws_profile_keys(profile: &str) -> Option<(String, String, Option<String>)> {
    let path = env("AWS_SHARED_CREDENTIALS_FILE")
        .or_else(|| env("HOME").map(|h| format!("{h}/.aws/credentials")))?;
    let text = std::fs::read_to_string(path).ok()?;
    let mut in_section = false;
    let mut fields: HashMap<String, String> = HashMap::new();
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with('[') && line.ends_with(']') {
            in_section = line[1..line.len() - 1].trim() == profile;
            continue;
        }
        if in_section {
            if let Some((k, v)) = line.split_once('=') {
                fields.insert(k.trim().to_string(), v.trim().to_string());
            }
        }
    }
    Some((
        fields.get("aws_access_key_id")?.clone(),
        fields.get("aws_secret_access_key")?.clone(),
        fields.get("aws_session_token").cloned(),
    ))
}

fn split_url(url: &str) -> Result<(String, String, String), String> {
    let parsed = url::Url::parse(url).map_err(|e| format!("invalid URL '{url}': {e}"))?;
    let scheme = parsed.scheme().to_string();
    let host = parsed.host_str().unwrap_or("").to_string();
    let path = parsed.path().trim_matches('/').to_string();
    let path = percent_decode(&path);
    Ok((scheme, host, path))
}

fn percent_decode(s: &str) -> String {
    url::form_urlencoded::parse(format!("x={}", s.replace('+', "%2B")).as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_else(|| s.to_string())
}

pub fn open(url: &str) -> Result<Opened, String> {
    let (scheme, host, prefix) = split_url(url)?;
    match scheme.as_str() {
        "s3" | "s3a" => open_s3(url, &host, prefix),
        "gs" | "gcs" => open_gcs(url, &host, prefix),
        "az" | "azure" | "abfs" | "abfss" => open_azure(url, &host, prefix),
        other => Err(format!(
            "unsupported object store scheme '{other}://' in '{url}'"
        )),
    }
}

fn open_s3(url: &str, bucket: &str, prefix: String) -> Result<Opened, String> {
    let endpoint = env("AWS_ENDPOINT_URL_S3").or_else(|| env("AWS_ENDPOINT_URL"));
    let region = env("AWS_REGION")
        .or_else(|| env("AWS_DEFAULT_REGION"))
        .unwrap_or_else(|| "us-east-1".to_string());
    let mut tried = Vec::new();
    let build = |max_retries: usize| -> Result<Arc<dyn ObjectStore>, String> {
        let mut b = AmazonS3Builder::from_env()
            .with_url(url)
            .with_bucket_name(bucket)
            .with_region(region.clone())
            .with_retry(retry(max_retries));
        if let Some(ep) = &endpoint {
            // Custom endpoints (MinIO, R2, emulators) are addressed path-style.
            b = b
                .with_endpoint(ep.clone())
                .with_virtual_hosted_style_request(false)
                .with_allow_http(ep.starts_with("http://"));
        }
        if env("AWS_ACCESS_KEY_ID").is_none() {
            if let Some(profile) = env("AWS_PROFILE") {
                if let Some((key, secret, token)) = aws_profile_keys(&profile) {
                    b = b.with_access_key_id(key).with_secret_access_key(secret);
                    if let Some(t) = token {
                        b = b.with_token(t);
                    }
                }
            }
        }
        b.build()
            .map(|s| Arc::new(s) as Arc<dyn ObjectStore>)
            .map_err(|e| format!("configuring S3 for '{url}': {e}"))
    };
    if env("AWS_ACCESS_KEY_ID").is_some() {
        tried.push("AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY".to_string());
    } else if let Some(p) = env("AWS_PROFILE") {
        tried.push(format!("profile '{p}' of the shared credentials file"));
    } else {
        tried.push("web identity / container / instance credentials".to_string());
    }
    tried.push(format!(
        "endpoint {}, region {region}",
        endpoint.clone().unwrap_or_else(|| "AWS".to_string())
    ));
    Ok(Opened {
        store: build(8)?,
        conditional: build(0)?,
        prefix,
        bucket: format!("s3://{bucket}"),
        tried: tried.join("; "),
        gcs_writer: None,
    })
}

fn open_gcs(url: &str, bucket: &str, prefix: String) -> Result<Opened, String> {
    let emulator = env("STORAGE_EMULATOR_HOST");
    let build = |max_retries: usize| -> Result<object_store::gcp::GoogleCloudStorage, String> {
        let mut b = GoogleCloudStorageBuilder::from_env()
            .with_url(url)
            .with_bucket_name(bucket)
            .with_retry(retry(max_retries));
        if let Some(host) = &emulator {
            let base = if host.contains("://") {
                host.clone()
            } else {
                format!("http://{host}")
            };
            // The emulator takes no credentials: requests go unsigned.
            b = b
                .with_config(
                    object_store::gcp::GoogleConfigKey::BaseUrl,
                    base.trim_end_matches('/'),
                )
                .with_skip_signature(true)
                .with_client_options(ClientOptions::new().with_allow_http(true));
        }
        b.build()
            .map_err(|e| format!("configuring GCS for '{url}': {e}"))
    };
    let tried = match &emulator {
        Some(h) => format!("emulator STORAGE_EMULATOR_HOST={h}, no credentials"),
        None if env("GOOGLE_APPLICATION_CREDENTIALS").is_some() => {
            "service account of GOOGLE_APPLICATION_CREDENTIALS".to_string()
        }
        None => "application-default credentials / metadata server".to_string(),
    };
    let store = build(8)?;
    let base = match &emulator {
        Some(h) if h.contains("://") => h.trim_end_matches('/').to_string(),
        Some(h) => format!("http://{}", h.trim_end_matches('/')),
        None => "https://storage.googleapis.com".to_string(),
    };
    let credentials = if emulator.is_some() {
        None
    } else {
        Some(store.credentials().clone())
    };
    let gcs_writer = crate::gcs_json::GcsWriter::new(base, bucket.to_string(), credentials)?;
    Ok(Opened {
        store: Arc::new(store),
        conditional: Arc::new(build(0)?),
        prefix,
        bucket: format!("gs://{bucket}"),
        tried,
        gcs_writer: Some(gcs_writer),
    })
}

/// `az://container/path` (account from the environment) or
/// `abfss://container@account.dfs.core.windows.net/path`.
fn open_azure(url: &str, host: &str, prefix: String) -> Result<Opened, String> {
    let parsed = url::Url::parse(url).map_err(|e| format!("invalid URL '{url}': {e}"))?;
    let (container, account_from_url) = if parsed.username().is_empty() {
        (host.to_string(), None)
    } else {
        let account = host.split('.').next().unwrap_or("").to_string();
        (parsed.username().to_string(), Some(account))
    };
    let conn = env("AZURE_STORAGE_CONNECTION_STRING").map(|s| parse_connection_string(&s));
    let get = |k: &str| conn.as_ref().and_then(|c| c.get(k).cloned());
    let account = get("AccountName")
        .or(account_from_url)
        .or_else(|| env("AZURE_STORAGE_ACCOUNT_NAME"))
        .or_else(|| env("AZURE_STORAGE_ACCOUNT"));
    let key = get("AccountKey")
        .or_else(|| env("AZURE_STORAGE_ACCOUNT_KEY"))
        .or_else(|| env("AZURE_STORAGE_KEY"));
    let sas = get("SharedAccessSignature").or_else(|| env("AZURE_STORAGE_SAS_TOKEN"));
    let endpoint = get("BlobEndpoint").or_else(|| env("AZURE_STORAGE_BLOB_ENDPOINT"));
    let build = |max_retries: usize| -> Result<Arc<dyn ObjectStore>, String> {
        let mut b = MicrosoftAzureBuilder::from_env()
            .with_container_name(container.clone())
            .with_retry(retry(max_retries));
        if let Some(a) = &account {
            b = b.with_account(a.clone());
        }
        if let Some(k) = &key {
            b = b.with_access_key(k.clone());
        }
        if let Some(s) = &sas {
            b = b.with_config(object_store::azure::AzureConfigKey::SasKey, s.clone());
        }
        if let Some(ep) = &endpoint {
            // Emulators and custom endpoints: http(s)://host:port/account.
            b = b
                .with_endpoint(ep.trim_end_matches('/').to_string())
                .with_allow_http(ep.starts_with("http://"));
        }
        b.build()
            .map(|s| Arc::new(s) as Arc<dyn ObjectStore>)
            .map_err(|e| format!("configuring Azure for '{url}': {e}"))
    };
    let mut tried = Vec::new();
    if conn.is_some() {
        tried.push("AZURE_STORAGE_CONNECTION_STRING".to_string());
    }
    tried.push(format!(
        "account {}",
        account.clone().unwrap_or_else(|| "(none)".to_string())
    ));
    tried.push(
        if key.is_some() {
            "account key"
        } else if sas.is_some() {
            "SAS token"
        } else {
            "managed / workload identity"
        }
        .to_string(),
    );
    if let Some(ep) = &endpoint {
        tried.push(format!("endpoint {ep}"));
    }
    Ok(Opened {
        store: build(8)?,
        conditional: build(0)?,
        prefix,
        bucket: format!("az://{container}"),
        tried: tried.join("; "),
        gcs_writer: None,
    })
}
