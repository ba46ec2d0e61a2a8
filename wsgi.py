"""WSGI entry point: ``gunicorn wsgi:app``. Only builds the app through the factory."""
from app import create_app

app = create_app()
