"""The audit module: who was issued what, from where, and logins and revocations."""
