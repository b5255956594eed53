-- Helpers the read planner (gateway/reads/) composes into its statements, so that the JSON
-- PostgreSQL writes reads exactly like the JSON orjson writes for the same values.

-- A timestamp as datetime.isoformat() writes it for UTC: "+00:00", and microseconds only
-- when there are some.
CREATE FUNCTION gateway_time(t timestamptz) RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT to_char(t AT TIME ZONE 'UTC',
                   CASE WHEN date_part('microseconds', t)::bigint % 1000000 = 0
                        THEN 'YYYY-MM-DD"T"HH24:MI:SS"+00:00"'
                        ELSE 'YYYY-MM-DD"T"HH24:MI:SS.US"+00:00"' END)
$$;

-- A decimal as Python prints the float it converts to (2.00 -> 2.0, 480.90 -> 480.9): exact
-- for every value of up to 15 significant digits, which covers every price and rating.
CREATE FUNCTION gateway_number(n numeric) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN trim_scale(n) = trunc(n) THEN trunc(n)::text || '.0'
                ELSE trim_scale(n)::text END
$$;

-- A keyset cursor (gateway/pagination.py): base64url without padding of an 8-byte checksum
-- of the payload followed by the payload, a JSON array [sort tag, key values...]. The
-- checksum makes an edited cursor a clear 400; it is integrity, not secrecy.
CREATE FUNCTION gateway_cursor(payload text) RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT rtrim(translate(encode(
               substring(sha256(convert_to('gateway-cursor-v2:' || payload, 'UTF8')) FROM 1 FOR 8)
               || convert_to(payload, 'UTF8'), 'base64'), E'+/\n', '-_'), '=')
$$;
