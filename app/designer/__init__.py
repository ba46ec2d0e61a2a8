"""The Designer (``propylon designer``): edit one configuration file in the browser.

This package holds its HTTP API (``api``); the browser UI is issue 8's next step.
"""
