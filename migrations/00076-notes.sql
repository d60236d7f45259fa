-- 00076: notes (GET /rest/v2/notes with fields=custom_fields), their custom field values, and the
-- staging table. Merge: keap.merge_notes generated from sql/transforms/064-declare-notes.sql.
-- Incremental: filter since_time (Keap does not say which time it compares; read as update_time,
-- see the README), with the overlap window and the periodic full traversal as the safety net.

create table keap.notes (
  note_id                 bigint primary key,
  contact_id              bigint,
  title                   text,
  type                    text,
  text                    text,
  assigned_to_user_id     bigint,
  created_by_user_id      bigint,
  last_updated_by_user_id bigint,
  pinned_at               timestamptz,
  created_at              timestamptz,
  updated_at              timestamptz,
  _run_id                 bigint,
  _synced_at              timestamptz not null default now(),
  _first_seen_at          timestamptz not null default now(),
  _deleted_at             timestamptz,
  _raw                    jsonb not null,
  _raw_hash               bigint generated always as (jsonb_hash_extended(_raw, 0)) stored
);
create index notes_updated_at on keap.notes (updated_at);
create index notes_contact_id on keap.notes (contact_id);
create index notes_deleted on keap.notes (_deleted_at) where _deleted_at is not null;

comment on table keap.notes is 'Keap notes on contacts, one row per note (GET /rest/v2/notes). Custom field values are in keap.note_custom_fields.';
comment on column keap.notes.note_id is 'Keap note id.';
comment on column keap.notes.contact_id is 'Contact the note is about (keap.contacts, not a foreign key).';
comment on column keap.notes.title is 'Note title.';
comment on column keap.notes.type is 'Note type label as Keap sends it (Call, Email, Fax, Letter, Appointment, Other, ...).';
comment on column keap.notes.text is 'Note body (text), up to 65,535 characters; a longer one is stored as null with a row issue and kept in _raw.';
comment on column keap.notes.assigned_to_user_id is 'Keap user the note is assigned to (assigned_to_user.id; keap.users).';
comment on column keap.notes.created_by_user_id is 'Keap user who created the note.';
comment on column keap.notes.last_updated_by_user_id is 'Keap user who last changed the note.';
comment on column keap.notes.pinned_at is 'When the note was pinned; null when it is not pinned.';
comment on column keap.notes.created_at is 'When the note was created (create_time).';
comment on column keap.notes.updated_at is 'When the note was last changed (update_time); the incremental watermark field.';
comment on column keap.notes._run_id is 'Run whose merge last wrote the row.';
comment on column keap.notes._synced_at is 'Last time the merge wrote the row (insert, change, soft delete or undelete).';
comment on column keap.notes._first_seen_at is 'When the row was first inserted.';
comment on column keap.notes._deleted_at is 'Soft delete: set when a completed full traversal no longer listed the note; cleared if it is listed again. Child rows are kept.';
comment on column keap.notes._raw is 'Last raw Note object received (NUL characters removed); holds every field, also those without a column (the assigned user''s name and e-mail).';
comment on column keap.notes._raw_hash is 'Hash of _raw (jsonb_hash_extended, computed by PostgreSQL): merges skip a re-read record whose hash is unchanged.';

create table keap.note_custom_fields (
  note_id         bigint not null,
  custom_field_id bigint not null,
  value           jsonb,
  _run_id         bigint,
  _synced_at      timestamptz not null default now(),
  primary key (note_id, custom_field_id)
);
comment on table keap.note_custom_fields is 'Custom field values of a note, one row per field with a value (fields without one are left out). Definitions in keap.custom_fields where model = ''notes''. Replaced whole whenever the note changes.';
comment on column keap.note_custom_fields.note_id is 'Note the value belongs to (keap.notes; kept consistent by keap.merge_notes, no foreign key).';
comment on column keap.note_custom_fields.custom_field_id is 'Custom field id (keap.custom_fields.custom_field_id, model notes).';
comment on column keap.note_custom_fields.value is 'The value (content) as untyped JSON; read it with the field''s field_type. A text over 65,535 characters is stored as null with a row issue.';
comment on column keap.note_custom_fields._run_id is 'Run whose merge wrote the row.';
comment on column keap.note_custom_fields._synced_at is 'When the row was written (children are replaced, so this is when the note last changed).';

insert into keap_meta.entities (entity, target_table, sync_order, description) values
  ('notes', 'keap.notes', 780, 'GET /rest/v2/notes with custom fields; incremental: since_time (read as update time)');

select keap_meta.create_staging_table('notes');
