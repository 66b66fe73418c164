"""One module per pre-commit hook, each with its checks, `CHECK` and `main(argv) -> int`."""
