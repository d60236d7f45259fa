-- Money casts and surrogate record keys for the generated merges (the data types minor_units,
-- currency_amount and money of keap_meta.entity_columns, and keap_meta.entities.key_paths; see
-- migration 00060). Called by: the keap.merge_<entity> procedures keap_meta.generate_merge writes,
-- keap_meta.load_merge_records / page_records / soft_delete_unlisted (record_key) and the sales
-- views. Safe to re-run: create or replace only, no state.
--
-- Keap sends money two ways (API-NOTES §4):
--   CurrencyValue {amount int64 in minor units, currency_code, formatted_amount} on orders, order
--     items and products: stored exactly as bigint minor units (minor_units) plus the currency code,
--     with the amount in currency units beside them (currency_amount: minor units scaled by the
--     currency's ISO 4217 minor unit, e.g. USD 2, JPY 0, BHD 3, so 129900 USD = 1299.00,
--     1500 JPY = 1500, 1234 BHD = 1.234);
--   plain JSON doubles in currency units on payments, transactions and subscriptions (money):
--     stored as numeric rounded to 15 significant digits, the precision a double holds, so a
--     float artefact of the sender (19.899999999999999, 0.30000000000000004) becomes the decimal it
--     stands for (19.9, 0.3). Never real or double precision.
-- A value that does not fit is stored as null with a row issue naming the raw value, like every cast.

-- ISO 4217 minor unit of a currency (digits after the decimal point), or null for a code that is not
-- an ISO 4217 currency. Most currencies have 2; the exceptions are listed.
create or replace function keap_meta.currency_minor_digits(p_currency_code text) returns integer
language sql immutable parallel safe
as $$
  select case
    when p_currency_code in ('BIF', 'CLP', 'DJF', 'GNF', 'ISK', 'JPY', 'KMF', 'KRW', 'PYG', 'RWF', 'UGX', 'UYI', 'VND',
                             'VUV', 'XAF', 'XOF', 'XPF') then 0
    when p_currency_code in ('BHD', 'IQD', 'JOD', 'KWD', 'LYD', 'OMR', 'TND') then 3
    when p_currency_code in ('CLF', 'UYW') then 4
    when p_currency_code in ('AED', 'AFN', 'ALL', 'AMD', 'ANG', 'AOA', 'ARS', 'AUD', 'AWG', 'AZN', 'BAM', 'BBD', 'BDT',
                             'BGN', 'BMD', 'BND', 'BOB', 'BOV', 'BRL', 'BSD', 'BTN', 'BWP', 'BYN', 'BZD', 'CAD', 'CDF',
                             'CHE', 'CHF', 'CHW', 'CNY', 'COP', 'COU', 'CRC', 'CUC', 'CUP', 'CVE', 'CZK', 'DKK', 'DOP',
                             'DZD', 'EGP', 'ERN', 'ETB', 'EUR', 'FJD', 'FKP', 'GBP', 'GEL', 'GHS', 'GIP', 'GMD', 'GTQ',
                             'GYD', 'HKD', 'HNL', 'HTG', 'HUF', 'IDR', 'ILS', 'INR', 'IRR', 'JMD', 'KES', 'KGS', 'KHR',
                             'KPW', 'KYD', 'KZT', 'LAK', 'LBP', 'LKR', 'LRD', 'LSL', 'MAD', 'MDL', 'MGA', 'MKD', 'MMK',
                             'MNT', 'MOP', 'MRU', 'MUR', 'MVR', 'MWK', 'MXN', 'MXV', 'MYR', 'MZN', 'NAD', 'NGN', 'NIO',
                             'NOK', 'NPR', 'NZD', 'PAB', 'PEN', 'PGK', 'PHP', 'PKR', 'PLN', 'QAR', 'RON', 'RSD', 'RUB',
                             'SAR', 'SBD', 'SCR', 'SDG', 'SEK', 'SGD', 'SHP', 'SLE', 'SLL', 'SOS', 'SRD', 'SSP', 'STN',
                             'SVC', 'SYP', 'SZL', 'THB', 'TJS', 'TMT', 'TOP', 'TRY', 'TTD', 'TWD', 'TZS', 'UAH', 'USD',
                             'USN', 'UYU', 'UZS', 'VED', 'VES', 'WST', 'XCD', 'XCG', 'YER', 'ZAR', 'ZMW', 'ZWG', 'ZWL')
      then 2
  end
$$;
comment on function keap_meta.currency_minor_digits(text) is 'ISO 4217 minor unit of a currency code (USD 2, JPY 0, BHD 3, CLF 4), or null when the code is not an ISO 4217 currency.';

-- A CurrencyValue amount: a whole number of minor units. JSON integers take the fast path; an
-- integral number written otherwise (129900.0, 1.299E5) is accepted too; a fraction of a minor
-- unit, or a value outside bigint, is not (null, and the merge records a row issue).
create or replace function keap_meta.try_minor_units(p_value text) returns bigint
language sql immutable parallel safe
as $$
  select case when p_value ~ '^\s*[+-]?\d{1,18}\s*$' then p_value::bigint
              when length(p_value) <= 100 and p_value ~ '^\s*[+-]?\d+(\.\d+)?([eE][+-]?\d{1,2})?\s*$'
                   and p_value::numeric = trunc(p_value::numeric)
                   and p_value::numeric between -9223372036854775808 and 9223372036854775807 then p_value::numeric::bigint
         end
$$;
comment on function keap_meta.try_minor_units(text) is 'A CurrencyValue amount (whole minor units, e.g. cents) to bigint, exactly; null when it is not a whole number in bigint range. Never raises.';

-- A JSON double in currency units to numeric, rounded to the 15 significant digits a double holds
-- (so the sender's float artefacts disappear: 19.899999999999999 -> 19.9), trailing zeros dropped.
create or replace function keap_meta.try_money(p_value text) returns numeric
language sql immutable parallel safe
as $$
  select case when length(p_value) <= 100 and p_value ~ '^\s*[+-]?\d+(\.\d+)?([eE][+-]?\d{1,2})?\s*$' then
           case when p_value::numeric = 0 then 0::numeric
                else trim_scale(round(p_value::numeric, 14 - floor(log(abs(p_value::numeric)))::integer)) end
         end
$$;
comment on function keap_meta.try_money(text) is 'A money amount sent as a JSON double (currency units) to an exact numeric rounded to 15 significant digits, the precision of a double: 19.899999999999999 -> 19.9, 0.30000000000000004 -> 0.3, 19.9 -> 19.9. Null when it is not a number. Never raises.';

-- The amount of a CurrencyValue object in currency units: minor units scaled by the currency's
-- minor unit, with exactly that many decimals (USD 129900 -> 1299.00, JPY 1500 -> 1500).
create or replace function keap_meta.try_currency_amount(p_value jsonb) returns numeric
language sql immutable parallel safe
as $$
  select case when jsonb_typeof(p_value) = 'object' then
           round(keap_meta.try_minor_units(p_value ->> 'amount')::numeric
                   / 10::numeric ^ keap_meta.currency_minor_digits(p_value ->> 'currency_code'),
                 keap_meta.currency_minor_digits(p_value ->> 'currency_code'))
         end
$$;
comment on function keap_meta.try_currency_amount(jsonb) is 'Amount of a CurrencyValue {amount (minor units), currency_code} in currency units, with as many decimals as the currency''s ISO 4217 minor unit (USD 129900 -> 1299.00, JPY 1500 -> 1500, BHD 1234 -> 1.234); null when it is not such an object, the amount is not whole minor units or the currency is unknown. Never raises.';

-- Why a CurrencyValue gave no amount (null when it did, or when it is absent / JSON null).
create or replace function keap_meta.currency_value_problem(p_value jsonb) returns text
language sql immutable parallel safe
as $$
  select case
    when p_value is null or jsonb_typeof(p_value) = 'null' then null
    when jsonb_typeof(p_value) <> 'object' then 'not a CurrencyValue object; stored as null, kept in _raw'
    when keap_meta.try_minor_units(p_value ->> 'amount') is null
      then 'amount is not a whole number of minor units; stored as null, kept in _raw'
    when p_value ->> 'currency_code' is null then 'CurrencyValue without currency_code; amount in currency units stored as null, minor units kept'
    when keap_meta.currency_minor_digits(p_value ->> 'currency_code') is null
      then 'currency_code is not an ISO 4217 currency; amount in currency units stored as null, minor units kept'
  end
$$;
comment on function keap_meta.currency_value_problem(jsonb) is 'Row-issue text for a CurrencyValue whose amount in currency units could not be computed (not an object, amount not whole minor units, currency code missing or not ISO 4217), else null.';

-- Surrogate key of a record without an id: the first 64 bits of md5 of the JSON array of the values
-- at p_key_paths (as PostgreSQL's jsonb prints it; an absent value is JSON null). Null when every
-- one of them is absent or null (such a record cannot be keyed). md5 because it is the same on every
-- PostgreSQL version and platform, and a DBA can recompute it.
create or replace function keap_meta.surrogate_key(p_rec jsonb, p_key_paths text[]) returns bigint
language sql immutable parallel safe
as $$
  select case when bool_or(jsonb_typeof(v) <> 'null')
              then ('x' || left(md5(jsonb_agg(coalesce(v, 'null'::jsonb) order by o)::text), 16))::bit(64)::bigint end
    from unnest(p_key_paths) with ordinality u(path, o)
    cross join lateral (select p_rec #> string_to_array(u.path, '.') as v) x
$$;
comment on function keap_meta.surrogate_key(jsonb, text[]) is 'Surrogate key of a record without an id: (''x'' || left(md5(<JSON array of the values at the key paths>::text), 16))::bit(64)::bigint; null when all of them are absent or null.';

-- The key of a staged record: its integer id, or for an entity declared with key_paths its surrogate.
create or replace function keap_meta.record_key(p_rec jsonb, p_key_paths text[]) returns bigint
language sql immutable parallel safe
as $$
  select case when p_key_paths is null then keap_meta.try_bigint(p_rec ->> 'id')
              when jsonb_typeof(p_rec) = 'object' then keap_meta.surrogate_key(p_rec, p_key_paths) end
$$;
comment on function keap_meta.record_key(jsonb, text[]) is 'Key of a staged record: keap_meta.try_bigint(id), or keap_meta.surrogate_key(record, key paths) for an entity whose records have no id (keap_meta.entities.key_paths).';

-- Why a keyed child item (order items keyed by id) cannot be keyed: no integer id, or the id listed
-- again for the same parent (p_nth > 1); null when it can.
create or replace function keap_meta.keyed_problem(p_key bigint, p_nth bigint, p_noun text) returns text
language sql immutable parallel safe
as $$
  select case when p_key is null then p_noun || ' without an integer id; skipped, kept in _raw'
              when p_nth > 1 then p_noun || ' id listed twice; first kept' end
$$;
comment on function keap_meta.keyed_problem(bigint, bigint, text) is 'Row-issue text for a keyed child item that cannot be keyed (no integer id, or a repeated id), else null.';
