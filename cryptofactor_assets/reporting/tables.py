"""Table keys of the reporting domain."""

TEAR_SHEET = "tear_sheet"
