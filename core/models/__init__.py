"""Network definitions and the shared weight-loading layer used by every sampler."""
