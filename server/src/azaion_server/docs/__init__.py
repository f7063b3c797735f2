"""The API's documentation pages, /docs and /redoc, served with the assets shipped in this package."""
