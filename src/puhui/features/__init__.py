"""Point-in-time entity features and the credit profile (画像)."""
