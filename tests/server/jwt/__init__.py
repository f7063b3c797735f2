"""Tests of azaion_server.jwt."""
