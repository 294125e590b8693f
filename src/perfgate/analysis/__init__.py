"""Statistics, the check language and (later) comparison and big-O fitting."""
