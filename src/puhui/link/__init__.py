"""Entity resolution: every department record to the business it is about."""
