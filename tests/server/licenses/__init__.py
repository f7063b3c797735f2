"""Tests of azaion_server.licenses."""
