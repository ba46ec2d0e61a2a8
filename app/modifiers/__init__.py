"""Request/response modifiers (``modifier/martian``)."""
