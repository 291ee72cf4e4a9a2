"""xznews: Xuzhou industrial-development news, deduplicated, tagged by the 343 clusters, mailed as digests."""

__version__ = "0.1.0"
