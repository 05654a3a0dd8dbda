"""tools/dms_gen: realistic AWS DMS (S3 target) output for Sluice's tests (README.md)."""
