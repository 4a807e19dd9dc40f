"""Assets of the HTML trace viewer (inlined into each page)."""
