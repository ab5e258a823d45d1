"""Credit models: binning, scorecard, challenger, reason codes, tiers, limits, pricing, registry, monitoring."""
