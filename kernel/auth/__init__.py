"""Authentication for the API and the CLI: Argon2id passwords, server-side sessions with
idle and absolute expiry, login lockout with backoff, and the five roles (R23)."""
