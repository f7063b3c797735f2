"""Publisher keys per folder, folders that require signatures, and release statements (issue 15)."""
