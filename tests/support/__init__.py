"""Helpers shared by the test suite: a throwaway PostgreSQL server and catalog database URLs."""
