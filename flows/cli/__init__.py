"""The ``insight`` command line: a thin surface that parses options, calls one use case and
prints."""

from flows.cli.app import app, main

__all__ = ["app", "main"]
