-- Count the rows of coin_symbols and the rows the user added or changed (edited_by = 'user').
SELECT count(*), count(*) FILTER (WHERE edited_by = 'user') FROM coin_symbols;
