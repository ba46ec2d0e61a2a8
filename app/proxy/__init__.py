"""The core pipeline (our lura): Proxy = ProxyRequest -> ProxyResponse."""
