"""Live facts: the Docker Engine(s) a runner uses, read through the Docker API (only reads)."""
