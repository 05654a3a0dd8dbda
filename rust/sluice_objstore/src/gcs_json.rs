//! GCS writes through the JSON API's media upload
//! (`POST /upload/storage/v1/b/{bucket}/o?uploadType=media&name=…`, with
//! `ifGenerationMatch=0` for a conditional create), authenticated with
//! object_store's own credential provider. object_store writes through the
//! XML API (`PUT /{bucket}/{object}`), which fake-gcs-server, the GCS
//! emulator, does not serve; the JSON API is what Google's own client
//! libraries use, so production and tests run the same request. Deletes go
//! the same way (`DELETE /storage/v1/b/{bucket}/o/{object}`): object_store's
//! GCS delete asks for a token even when signing is skipped (the emulator).

use object_store::gcp::GcpCredentialProvider;

/// The answer to one upload attempt.
pub enum Upload {
    Created,
    /// HTTP status and body of a refused upload.
    Status(u16, String),
    /// No usable answer: `sent` when the request may have reached GCS.
    Transport {
        sent: bool,
        message: String,
    },
}

pub struct GcsWriter {
    client: reqwest::Client,
    base: String,
    bucket: String,
    credentials: Option<GcpCredentialProvider>,
}

fn encode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

impl GcsWriter {
    pub fn new(
        base: String,
        bucket: String,
        credentials: Option<GcpCredentialProvider>,
    ) -> Result<Self, String> {
        let client = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(60))
            .connect_timeout(std::time::Duration::from_secs(10))
            .build()
            .map_err(|e| format!("GCS HTTP client: {e}"))?;
        Ok(GcsWriter {
            client,
            base,
            bucket,
            credentials,
        })
    }

    /// One upload of `data` to `object`; `create_only` adds
    /// ifGenerationMatch=0 (412 when the object exists).
    pub async fn upload(&self, object: &str, data: &[u8], create_only: bool) -> Upload {
        let mut url = format!(
            "{}/upload/storage/v1/b/{}/o?uploadType=media&name={}",
            self.base,
            encode(&self.bucket),
            encode(object)
        );
        if create_only {
            url.push_str("&ifGenerationMatch=0");
        }
        let mut request = self
            .client
            .post(url)
            .header("Content-Type", "application/octet-stream")
            .body(data.to_vec());
        if let Some(creds) = &self.credentials {
            match creds.get_credential().await {
                Ok(c) => request = request.bearer_auth(&c.bearer),
                Err(e) => {
                    return Upload::Status(401, format!("no GCS credential: {e}"));
                }
            }
        }
        match request.send().await {
            Ok(resp) => {
                let status = resp.status().as_u16();
                if (200..300).contains(&status) {
                    return Upload::Created;
                }
                let body = resp.text().await.unwrap_or_default();
                Upload::Status(status, body)
            }
            Err(e) => Upload::Transport {
                sent: !e.is_connect(),
                message: e.to_string(),
            },
        }
    }

    /// One delete of `object`: Created (= done) also when it was missing.
    pub async fn delete(&self, object: &str) -> Upload {
        let mut url = match url::Url::parse(&self.base) {
            Ok(u) => u,
            Err(e) => return Upload::Status(400, format!("bad GCS endpoint {}: {e}", self.base)),
        };
        match url.path_segments_mut() {
            Ok(mut p) => {
                p.pop_if_empty()
                    .extend(["storage", "v1", "b", &self.bucket, "o", object]);
            }
            Err(()) => return Upload::Status(400, format!("bad GCS endpoint {}", self.base)),
        }
        let mut request = self.client.delete(url);
        if let Some(creds) = &self.credentials {
            match creds.get_credential().await {
                Ok(c) => request = request.bearer_auth(&c.bearer),
                Err(e) => {
                    return Upload::Status(401, format!("no GCS credential: {e}"));
                }
            }
        }
        match request.send().await {
            Ok(resp) => {
                let status = resp.status().as_u16();
                if (200..300).contains(&status) || status == 404 {
                    return Upload::Created;
                }
                let body = resp.text().await.unwrap_or_default();
                Upload::Status(status, body)
            }
            Err(e) => Upload::Transport {
                sent: !e.is_connect(),
                message: e.to_string(),
            },
        }
    }
}
