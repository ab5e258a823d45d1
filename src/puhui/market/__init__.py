"""The financing supermarket (融资超市): banks' products, and matching businesses to them.

See docs/market.md.
"""
