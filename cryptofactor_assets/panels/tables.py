"""Table keys of the panels domain (other domains import them from here)."""

DAILY_PANEL = "daily_panel"
WEEKLY_PANEL = "weekly_panel"
UNIVERSE_MEMBERSHIP = "universe_membership"
