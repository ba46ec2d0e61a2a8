"""The Designer (``propylon designer``): edit one configuration file in the browser.

``api`` serves the page (``static/``) and its JSON API; ``layout`` saves with
the original bytes of every unchanged part; ``sandbox`` runs "Try it".
"""
