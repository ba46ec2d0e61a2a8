"""The ceiling for any Flask gateway: one view answering a fixed JSON body.

``bench/run.py`` serves it under the same gunicorn settings as Propylon
(``gunicorn -c gunicorn.conf.py bench.bare_app:app``) and divides the
gateway's throughput by this one, so the ratios cancel out the machine's
speed.  The body is pre-encoded bytes on purpose: no JSON encoding, no
routing beyond Flask's own; anything the gateway does costs on top of this.
"""
from __future__ import annotations

from flask import Flask, Response

#: About 200 bytes, like each of the backend bodies served by the bench nginx.
BODY = (
    b'{"hello":"world","service":"bare-flask","kind":"ceiling","items":[1,2,3,4,5,6,7,8],'
    b'"nested":{"ok":true,"count":8,"ratio":0.5},"note":"fixed body for the throughput ceiling",'
    b'"pad":"xxxxxxxxxxxxxxxxxxxx"}'
)

app = Flask("bare")


@app.get("/hello")
def hello() -> Response:
    return Response(BODY, mimetype="application/json")
