"""The dedupe stage."""
