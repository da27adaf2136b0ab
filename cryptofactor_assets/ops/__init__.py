"""Operations: freshness checks and the sensor that evaluates them (failure / staleness visibility)."""
