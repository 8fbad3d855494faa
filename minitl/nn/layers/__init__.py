"""The layer library: each file one family of layers, each layer a thin Module over an op."""
