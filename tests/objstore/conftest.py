"""Object-store emulators for the tests/objstore suite.

Each emulator is started on a free loopback port for the session and stopped
at the end, also when a test fails (its process group is ended by id):

* S3: moto's server (``moto[server]`` from scripts/requirements.txt), with
  request signing enforced: the first calls create an IAM user whose keys
  are the valid credential, every later request must be SigV4-signed with
  them, so a wrong key is refused as on AWS;
* GCS: fake-gcs-server (built once by scripts/install-emulators);
* Azure: Azurite's blob service (installed by scripts/install-emulators).

A store is described by a ``Store``: the standard variables Sluice reads
(``env``), the ``storage_options`` delta-rs takes for the same store, the URI
prefix of its bucket and helpers to create buckets and to do raw
conditional creates (proving the emulator itself enforces them).
"""
from __future__ import annotations

import base64
import datetime as dt
import email.utils
import hashlib
import hmac
import os
import shutil
import subprocess
import urllib.parse
import uuid
from pathlib import Path
from typing import Dict, Optional

import pytest
import requests

from emulator_process import free_port, start_moto, stop, wait_for

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
SLUICE = os.environ.get("SLUICE_BIN", str(REPO / "build" / "sluice"))
EMU = Path(os.environ.get("SLUICE_CACHE", Path.home() / ".cache" / "sluice")) / "emulators"
FAKE_GCS = EMU / "bin" / "fake-gcs-server"
AZURITE = EMU / "azurite" / "node_modules" / ".bin" / "azurite-blob"
AZURITE_ACCOUNT = "devstoreaccount1"
# Azurite's documented well-known development key.
AZURITE_KEY = (
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
)
# Variables of any store that must not leak in from the caller's shell.
STORAGE_VARS = [
    "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "AWS_REGION", "AWS_DEFAULT_REGION",
    "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE",
    "STORAGE_EMULATOR_HOST", "GOOGLE_APPLICATION_CREDENTIALS",
    "AZURE_STORAGE_CONNECTION_STRING", "AZURE_STORAGE_ACCOUNT_NAME", "AZURE_STORAGE_ACCOUNT_KEY",
]


class Store:
    """One emulated object store."""

    def __init__(self, kind: str, scheme: str, env: Dict[str, str], endpoint: str):
        self.kind = kind
        self.scheme = scheme
        self.env = env
        self.endpoint = endpoint
        self.storage_options: Dict[str, str] = {}
        self.bucket = ""

    def uri(self, path: str, bucket: Optional[str] = None) -> str:
        return f"{self.scheme}://{bucket or self.bucket}/{path}"

    def upload_tree(self, bucket: str, prefix: str, local: Path) -> int:
        """Uploads every file under `local` (but `_expected/`) to
        bucket/prefix/<relative path>; the number of files."""
        n = 0
        for f in sorted(Path(local).rglob("*")):
            rel = f.relative_to(local).as_posix()
            if f.is_file() and not rel.startswith("_"):
                self.put(bucket, f"{prefix}/{rel}", f.read_bytes())
                n += 1
        return n

    def run_env(self, **overrides: str) -> Dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k not in STORAGE_VARS}
        env.update(self.env)
        env.update(overrides)
        return env


# --------------------------------------------------------------------------
# S3: moto


def _s3_client(endpoint: str, key: str, secret: str):
    import boto3
    from botocore.config import Config

    return boto3.client(
        "s3", endpoint_url=endpoint, region_name="us-east-1",
        aws_access_key_id=key, aws_secret_access_key=secret,
        config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1}),
    )


class S3Store(Store):
    def client(self):
        return _s3_client(self.endpoint, self.env["AWS_ACCESS_KEY_ID"],
                          self.env["AWS_SECRET_ACCESS_KEY"])

    def make_bucket(self, name: str) -> None:
        self.client().create_bucket(Bucket=name)

    def conditional_create(self, bucket: str, key: str, data: bytes) -> int:
        """A SigV4-signed PUT with If-None-Match: *; the HTTP status."""
        from botocore.exceptions import ClientError

        try:
            r = self.client().put_object(Bucket=bucket, Key=key, Body=data, IfNoneMatch="*")
            return r["ResponseMetadata"]["HTTPStatusCode"]
        except ClientError as e:
            return e.response["ResponseMetadata"]["HTTPStatusCode"]

    def read(self, bucket: str, key: str) -> bytes:
        return self.client().get_object(Bucket=bucket, Key=key)["Body"].read()

    def put(self, bucket: str, key: str, data: bytes) -> None:
        self.client().put_object(Bucket=bucket, Key=key, Body=data)


@pytest.fixture(scope="session")
def s3(tmp_path_factory):
    try:
        import moto.server  # noqa: F401
    except ImportError:
        pytest.fail("moto[server] is not installed: run scripts/install-emulators")
    log = tmp_path_factory.mktemp("moto") / "moto.log"
    env = dict(os.environ)
    # The first 4 requests (IAM set-up below) go unauthenticated; every later
    # one must be signed with a key moto knows.
    env["INITIAL_NO_AUTH_ACTION_COUNT"] = "4"
    proc, endpoint = start_moto(log, env)
    try:
        import boto3

        iam = boto3.client("iam", endpoint_url=endpoint, region_name="us-east-1",
                           aws_access_key_id="setup", aws_secret_access_key="setup")
        iam.create_user(UserName="sluice")
        policy = iam.create_policy(
            PolicyName="all",
            PolicyDocument='{"Version":"2012-10-17","Statement":[{"Effect":"Allow",'
                           '"Action":"*","Resource":"*"}]}')
        iam.attach_user_policy(UserName="sluice", PolicyArn=policy["Policy"]["Arn"])
        key = iam.create_access_key(UserName="sluice")["AccessKey"]
        store = S3Store("s3", "s3", {
            "AWS_ENDPOINT_URL": endpoint,
            "AWS_REGION": "us-east-1",
            "AWS_ACCESS_KEY_ID": key["AccessKeyId"],
            "AWS_SECRET_ACCESS_KEY": key["SecretAccessKey"],
            "AWS_EC2_METADATA_DISABLED": "true",
        }, endpoint)
        store.storage_options = {
            "AWS_ENDPOINT_URL": endpoint, "AWS_REGION": "us-east-1",
            "AWS_ACCESS_KEY_ID": key["AccessKeyId"],
            "AWS_SECRET_ACCESS_KEY": key["SecretAccessKey"],
            "AWS_ALLOW_HTTP": "true",
        }
        store.bucket = "lake"
        store.make_bucket(store.bucket)
        yield store
    finally:
        stop(proc)


# --------------------------------------------------------------------------
# GCS: fake-gcs-server


class GcsStore(Store):
    def make_bucket(self, name: str) -> None:
        r = requests.post(f"{self.endpoint}/storage/v1/b?project=sluice", json={"name": name},
                          timeout=10)
        assert r.status_code in (200, 409), r.text

    def conditional_create(self, bucket: str, key: str, data: bytes) -> int:
        """A JSON-API media upload with ifGenerationMatch=0; the HTTP status."""
        r = requests.post(
            f"{self.endpoint}/upload/storage/v1/b/{bucket}/o",
            params={"uploadType": "media", "name": key, "ifGenerationMatch": "0"},
            data=data, headers={"Content-Type": "application/octet-stream"}, timeout=10)
        return r.status_code

    def conditional_create_xml(self, bucket: str, key: str, data: bytes) -> int:
        """The XML-API form object_store uses: PUT with
        x-goog-if-generation-match: 0."""
        r = requests.put(f"{self.endpoint}/{bucket}/{urllib.parse.quote(key)}", data=data,
                         headers={"x-goog-if-generation-match": "0"}, timeout=10)
        return r.status_code

    def read(self, bucket: str, key: str) -> bytes:
        r = requests.get(f"{self.endpoint}/storage/v1/b/{bucket}/o/"
                         f"{urllib.parse.quote(key, safe='')}", params={"alt": "media"},
                         timeout=10)
        r.raise_for_status()
        return r.content

    def put(self, bucket: str, key: str, data: bytes) -> None:
        r = requests.post(f"{self.endpoint}/upload/storage/v1/b/{bucket}/o",
                          params={"uploadType": "media", "name": key}, data=data,
                          headers={"Content-Type": "application/octet-stream"}, timeout=30)
        r.raise_for_status()


@pytest.fixture(scope="session")
def gcs(tmp_path_factory):
    if not FAKE_GCS.exists():
        pytest.fail(f"{FAKE_GCS} is missing: run scripts/install-emulators")
    port = free_port()
    log = tmp_path_factory.mktemp("fakegcs") / "fake-gcs.log"
    endpoint = f"http://127.0.0.1:{port}"
    with open(log, "w") as fh:
        proc = subprocess.Popen(
            [str(FAKE_GCS), "-scheme", "http", "-host", "127.0.0.1", "-port", str(port),
             "-backend", "memory", "-external-url", endpoint,
             "-public-host", f"127.0.0.1:{port}", "-log-level", "warn"],
            stdout=fh, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        wait_for(endpoint + "/storage/v1/b", proc, "fake-gcs-server", log)
        store = GcsStore("gcs", "gs", {"STORAGE_EMULATOR_HOST": endpoint}, endpoint)
        store.storage_options = {
            "google_base_url": endpoint, "google_skip_signature": "true", "allow_http": "true",
        }
        store.bucket = "lake"
        store.make_bucket(store.bucket)
        yield store
    finally:
        stop(proc)


# --------------------------------------------------------------------------
# Azure: Azurite


def azure_shared_key_headers(method: str, url: str, headers: Dict[str, str], body: bytes,
                             account: str, key: str) -> Dict[str, str]:
    """Signs a Blob request with Shared Key (the scheme Azurite checks)."""
    headers = dict(headers)
    headers["x-ms-date"] = email.utils.formatdate(usegmt=True)
    headers["x-ms-version"] = "2021-08-06"
    parsed = urllib.parse.urlparse(url)
    length = str(len(body)) if body else ""
    std = [headers.get(h, "") for h in (
        "Content-Encoding", "Content-Language")] + [length] + [headers.get(h, "") for h in (
            "Content-MD5", "Content-Type", "Date", "If-Modified-Since", "If-Match",
            "If-None-Match", "If-Unmodified-Since", "Range")]
    canon_headers = "".join(f"{k.lower()}:{v}\n" for k, v in sorted(
        (k.lower(), v) for k, v in headers.items() if k.lower().startswith("x-ms-")))
    resource = f"/{account}{parsed.path}"
    for name, values in sorted(urllib.parse.parse_qs(parsed.query).items()):
        resource += f"\n{name.lower()}:{','.join(sorted(values))}"
    to_sign = f"{method}\n" + "\n".join(std) + "\n" + canon_headers + resource
    sig = base64.b64encode(hmac.new(base64.b64decode(key), to_sign.encode(),
                                    hashlib.sha256).digest()).decode()
    headers["Authorization"] = f"SharedKey {account}:{sig}"
    return headers


class AzureStore(Store):
    def request(self, method: str, path: str, body: bytes = b"",
                headers: Optional[Dict[str, str]] = None, key: str = AZURITE_KEY):
        url = f"{self.endpoint}/{AZURITE_ACCOUNT}/{path}"
        h = azure_shared_key_headers(method, url, headers or {}, body, AZURITE_ACCOUNT, key)
        return requests.request(method, url, data=body or None, headers=h, timeout=10)

    def make_bucket(self, name: str) -> None:
        r = self.request("PUT", f"{name}?restype=container")
        assert r.status_code in (201, 409), r.text

    def conditional_create(self, bucket: str, key: str, data: bytes) -> int:
        r = self.request("PUT", f"{bucket}/{key}", data,
                         {"If-None-Match": "*", "x-ms-blob-type": "BlockBlob"})
        return r.status_code

    def read(self, bucket: str, key: str) -> bytes:
        r = self.request("GET", f"{bucket}/{key}")
        r.raise_for_status()
        return r.content

    def put(self, bucket: str, key: str, data: bytes) -> None:
        r = self.request("PUT", f"{bucket}/{key}", data, {"x-ms-blob-type": "BlockBlob"})
        assert r.status_code == 201, r.text


def azure_connection_string(endpoint: str, key: str = AZURITE_KEY) -> str:
    return (f"DefaultEndpointsProtocol=http;AccountName={AZURITE_ACCOUNT};AccountKey={key};"
            f"BlobEndpoint={endpoint}/{AZURITE_ACCOUNT};")


@pytest.fixture(scope="session")
def azure(tmp_path_factory):
    if not AZURITE.exists() or shutil.which("node") is None:
        pytest.fail(f"{AZURITE} (or node) is missing: run scripts/install-emulators")
    port = free_port()
    work = tmp_path_factory.mktemp("azurite")
    log = work / "azurite.log"
    endpoint = f"http://127.0.0.1:{port}"
    with open(log, "w") as fh:
        proc = subprocess.Popen(
            [str(AZURITE), "--inMemoryPersistence", "--disableTelemetry", "--skipApiVersionCheck",
             "--blobHost", "127.0.0.1", "--blobPort", str(port)],
            cwd=work, stdout=fh, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        wait_for(endpoint, proc, "azurite", log)
        store = AzureStore("azure", "az", {
            "AZURE_STORAGE_CONNECTION_STRING": azure_connection_string(endpoint),
        }, endpoint)
        store.storage_options = {
            "azure_storage_account_name": AZURITE_ACCOUNT,
            "azure_storage_account_key": AZURITE_KEY,
            "azure_storage_endpoint": f"{endpoint}/{AZURITE_ACCOUNT}",
            "allow_http": "true",
        }
        store.bucket = "lake"
        store.make_bucket(store.bucket)
        yield store
    finally:
        stop(proc)


@pytest.fixture(params=["s3", "gcs", "azure"])
def store(request):
    """Each emulated store in turn."""
    return request.getfixturevalue(request.param)


# --------------------------------------------------------------------------
# sluice


def sluice(store: Store, *args: str, timeout: float = 180, check: bool = True,
           env: Optional[Dict[str, str]] = None) -> subprocess.CompletedProcess:
    proc = subprocess.run([SLUICE, *args], capture_output=True, text=True, timeout=timeout,
                          env=env or store.run_env())
    if check:
        assert proc.returncode == 0, (
            f"sluice {' '.join(args)} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    return proc


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)
