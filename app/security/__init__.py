"""Service-wide security features (``security/cors``, ``security/bot-detector``)."""
