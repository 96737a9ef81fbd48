"""The nightly run: its stages from source to published warehouse, their typed results and
the run summary."""
