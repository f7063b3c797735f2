"""Tests of azaion_server.users."""
