"""`make loadtest`: viewers and moderators at their real intervals against a stack of its own."""
