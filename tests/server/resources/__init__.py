"""Tests of azaion_server.resources."""
