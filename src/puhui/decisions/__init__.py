"""Real-time decisions (issue #8): admission, rating, limit, price and reasons,
stored immutably and replayable."""
