"""The portal's views, a module per page (their paths are all in `portal/urls.py`)."""
