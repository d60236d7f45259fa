-- 00005: the OAuth token store. Keap rotates the refresh token on every refresh and the previous
-- one dies at once, so the current pair must live in one place shared by every process of the
-- sync: this table. scripts/lib/keap/auth.ts refreshes inside one transaction holding
-- pg_advisory_xact_lock on the client id, re-reads the row first (another process may have just
-- refreshed) and writes the new pair before the transaction commits and before it is used.
-- Lives in keap_meta, which keap_reader cannot use: tokens are never readable by readers.
-- Token columns hold AES-256-GCM ciphertext (with iv and tag) when KEAP_TOKEN_KEY is set, else
-- the token's UTF-8 bytes.

create table keap_meta.oauth_tokens (
  client_id          text primary key,
  encryption         text not null check (encryption in ('none', 'aes-256-gcm')),
  key_check          text,
  refresh_token      bytea not null,
  refresh_token_iv   bytea,
  refresh_token_tag  bytea,
  access_token       bytea,
  access_token_iv    bytea,
  access_token_tag   bytea,
  access_expires_at  timestamptz,
  token_type         text,
  scope              text,
  source             text not null check (source in ('env', 'refresh')),
  refresh_count      bigint not null default 0,
  refreshed_at       timestamptz,
  refreshed_by       text,
  refreshed_run_id   bigint references keap_meta.etl_run_log (run_id) on delete set null,
  created_at         timestamptz not null default clock_timestamp(),
  updated_at         timestamptz not null default clock_timestamp(),
  constraint oauth_tokens_encryption_parts check (
    case encryption
      when 'none' then key_check is null and refresh_token_iv is null and refresh_token_tag is null
                       and access_token_iv is null and access_token_tag is null
      else key_check is not null and refresh_token_iv is not null and refresh_token_tag is not null
           and (access_token is null or (access_token_iv is not null and access_token_tag is not null))
    end)
);
revoke all on keap_meta.oauth_tokens from public;

comment on table keap_meta.oauth_tokens is 'Current OAuth token pair per Keap developer app (client id). Written only by the sync''s token refresh, under an advisory lock, in the same transaction that receives the rotated refresh token. Never readable by keap_reader. To re-authorize: delete the row and set KEAP_REFRESH_TOKEN.';
comment on column keap_meta.oauth_tokens.client_id is 'OAuth client id (KEAP_CLIENT_ID) the tokens belong to; not a secret.';
comment on column keap_meta.oauth_tokens.encryption is 'none (tokens stored as UTF-8 bytes; KEAP_TOKEN_KEY was not set) or aes-256-gcm (key derived with scrypt from KEAP_TOKEN_KEY).';
comment on column keap_meta.oauth_tokens.key_check is 'Fingerprint (HMAC-SHA256 prefix) of the encryption key, so a wrong KEAP_TOKEN_KEY is reported clearly; reveals nothing about the key. Null when not encrypted.';
comment on column keap_meta.oauth_tokens.refresh_token is 'Current refresh token: ciphertext, or UTF-8 bytes when encryption = none. Rotated by every refresh; the previous one is dead.';
comment on column keap_meta.oauth_tokens.refresh_token_iv is 'AES-GCM initialisation vector (12 bytes) of refresh_token; null when not encrypted.';
comment on column keap_meta.oauth_tokens.refresh_token_tag is 'AES-GCM authentication tag (16 bytes) of refresh_token; null when not encrypted.';
comment on column keap_meta.oauth_tokens.access_token is 'Current access token (ciphertext, or UTF-8 bytes when encryption = none); null until the first refresh.';
comment on column keap_meta.oauth_tokens.access_token_iv is 'AES-GCM initialisation vector of access_token; null when not encrypted or no access token.';
comment on column keap_meta.oauth_tokens.access_token_tag is 'AES-GCM authentication tag of access_token; null when not encrypted or no access token.';
comment on column keap_meta.oauth_tokens.access_expires_at is 'When the access token expires (refresh time + expires_in from the token response).';
comment on column keap_meta.oauth_tokens.token_type is 'token_type of the last token response (bearer).';
comment on column keap_meta.oauth_tokens.scope is 'scope of the last token response, e.g. full|ab123.infusionsoft.com: names the tenant the tokens cover.';
comment on column keap_meta.oauth_tokens.source is 'Where the current refresh token came from: env (seeded from KEAP_REFRESH_TOKEN, not yet used) or refresh (returned by the token endpoint).';
comment on column keap_meta.oauth_tokens.refresh_count is 'Number of successful refreshes stored in this row.';
comment on column keap_meta.oauth_tokens.refreshed_at is 'When the last successful refresh was stored.';
comment on column keap_meta.oauth_tokens.refreshed_by is 'host:pid of the process that stored the last refresh.';
comment on column keap_meta.oauth_tokens.refreshed_run_id is 'Run during which the last refresh happened, if any.';
comment on column keap_meta.oauth_tokens.created_at is 'When the row was seeded.';
comment on column keap_meta.oauth_tokens.updated_at is 'When the row last changed.';
