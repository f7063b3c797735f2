"""Tests of azaion_server."""
