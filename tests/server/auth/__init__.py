"""Tests of azaion_server.auth."""
