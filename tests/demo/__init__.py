"""The demo exactly as the README starts it (`make run`), walked by every role in chromium."""
