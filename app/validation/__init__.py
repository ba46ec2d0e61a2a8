"""Request validation features: JSON schema and CEL."""
