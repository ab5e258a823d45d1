"""Credit models: binning, scorecard, challenger, reasons, tiers, limits, pricing, registry."""
