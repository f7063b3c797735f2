# The one extension of the protected modules (setup.py): it registers azaion.api_client ... and
# has no names of its own to use.
