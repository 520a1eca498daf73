"""Stand-in servers that tests run on 127.0.0.1 in place of Discord and Launch Library 2."""
