"""Shared estimators and calendars, no Dagster import: rolling OLS, Fama-MacBeth, HAC, the LTW / ISO week calendars."""
