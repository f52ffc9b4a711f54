"""The SPEC's rules that are not about one input format: suppression."""
