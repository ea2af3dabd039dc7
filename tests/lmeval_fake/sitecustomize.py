"""Put this folder on PYTHONPATH and every Python process started with it registers the ``cg-fake`` model."""

import cg_fake_lm  # noqa: F401
