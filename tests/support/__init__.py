"""Helpers the test suite shares: test models built locally, with no network."""
