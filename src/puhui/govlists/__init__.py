"""Government lists (精准推送): lists of businesses a government wants served first, pushed
to banks, flagged in matching and tracked against the loans that follow."""
