"""The Flask side: routes, request translation, rendering (our lura router adapter)."""
