"""The local server (echo backend) in a process of its own, with streams paced like a model."""
