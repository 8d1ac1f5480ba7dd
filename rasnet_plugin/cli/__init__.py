"""Command-line entry points: argument parsing only; the logic lives in the package."""
