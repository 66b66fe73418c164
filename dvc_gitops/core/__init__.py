"""The core every check stands on; it imports nothing of ours above it."""
