"""What gunicorn's workers run on: the event loop they use."""
