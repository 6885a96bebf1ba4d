# Stubs for the part of gunicorn roll.worker uses (gunicorn ships no types).
