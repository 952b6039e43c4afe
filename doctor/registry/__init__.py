"""Registries: prove that the images a runner pulls can be pulled (RD402) and are not local-only (RD403)."""
