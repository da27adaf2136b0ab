-- Count universe_membership rows whose reason disagrees with eligibility (a reason exactly when not eligible).
SELECT count(*) FROM universe_membership WHERE eligible = (reason IS NOT NULL) OR last_seen > date;
