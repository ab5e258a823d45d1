"""Reference tables: administrative divisions (GB/T 2260) and industries (GB/T 4754-2017)."""
