-- Select every stored weekly_characteristics row (signals, caps and eligibility of the characteristic long-shorts).
SELECT * FROM weekly_characteristics;
