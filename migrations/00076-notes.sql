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
  updated_at              timestamptz
);
select keap_meta.add_entity_etl_columns('keap.notes', 'Note');
create index notes_updated_at on keap.notes (updated_at);
create index notes_contact_id on keap.notes (contact_id);

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

select keap_meta.create_custom_field_values_table('note_custom_fields', 'keap.notes', 'note_id', 'notes');

insert into keap_meta.entities (entity, target_table, sync_order, description) values
  ('notes', 'keap.notes', 780, 'GET /rest/v2/notes with custom fields; incremental: since_time (read as update time)');

select keap_meta.create_staging_table('notes');
