"""Authentication features (``auth/validator``)."""
