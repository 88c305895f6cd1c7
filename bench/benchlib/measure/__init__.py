"""The client processes of the figures (``worker``, ``cold``) and what they measure with."""
