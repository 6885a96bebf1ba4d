"""A two-module app: routes in `items.py` (a Router), the app in `main.py`."""
