-- The transaction of bench/bare_urls.py's bare_sign_up, for pgbench (bench/signup.py):
-- lock the gesprek, check the address is not signed up, count the seats taken, insert a
-- held seat or a waiting-list entry. :small_permille of the clients pick a small gesprek.
-- The sequence number makes every address and check-in code unique.
\set pick random(1, 1000)
\if :pick <= :small_permille
\set g random(:small_lo, :small_hi)
\else
\set g random(:big_lo, :big_hi)
\endif
BEGIN;
SELECT max_participants AS cap, extract(epoch FROM starts_at)::bigint AS starts
  FROM gesprekken_gesprek WHERE id = :g FOR UPDATE \gset
SELECT nextval('bench_signup_seq') AS n \gset
SELECT EXISTS (
    SELECT 1 FROM gesprekken_aanmelding
    WHERE gesprek_id = :g AND email = 'pgb' || :n || '@bench.invalid'
      AND status IN ('onbevestigd', 'bevestigd', 'wachtlijst', 'reserve', 'aangeboden',
                     'aanwezig', 'niet_verschenen')
  ) AS dup \gset
SELECT count(*) AS taken FROM gesprekken_aanmelding
  WHERE gesprek_id = :g AND status IN ('onbevestigd', 'bevestigd', 'aangeboden', 'aanwezig') \gset
INSERT INTO gesprekken_aanmelding
  (gesprek_id, name, email, phone, postcode, language, status, token, short_code,
   age_band, consent_at, created_at, hold_expires_at)
  VALUES (:g, 'Bench', 'pgb' || :n || '@bench.invalid', '', '3511AB', 'nl',
          CASE WHEN :taken < :cap THEN 'onbevestigd' ELSE 'wachtlijst' END,
          md5(:n::text) || md5(:n::text), upper(lpad(to_hex(:n), 6, '0')), '', now(), now(),
          CASE WHEN :taken < :cap
               THEN least(now() + interval '60 minutes', to_timestamp(:starts)) END);
END;
