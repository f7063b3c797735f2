"""The signing module: publishing the server's signing keys, and rotating them (ApiAdmin)."""
