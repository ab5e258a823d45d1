"""Department deliveries into the warehouse: the feed contract, readers, validation, loads."""
