-- 00020: keap_meta.entities, one row per synced entity. An entity's own migration registers it
-- (insert into keap_meta.entities ...), so monitoring views list new entities without being edited.

create table keap_meta.entities (
  entity       text primary key check (entity ~ '^[a-z][a-z0-9_]*$'),
  target_table regclass not null,
  sync_order   integer not null unique,
  description  text not null
);
comment on table keap_meta.entities is 'Synced entities and the warehouse table each fills; registered by the entity''s migration, read by keap_ops.entity_freshness. The sync order matches the engine''s entity list.';
comment on column keap_meta.entities.entity is 'Entity name: the staging table, merge-log entity and sync_cursors key.';
comment on column keap_meta.entities.target_table is 'The keap table the entity''s merge procedure writes (its main table).';
comment on column keap_meta.entities.sync_order is 'Position in the engine''s processing order (1 first).';
comment on column keap_meta.entities.description is 'Where the data comes from, for DBAs.';

insert into keap_meta.entities (entity, target_table, sync_order, description) values
  ('contact_model', 'keap.custom_fields', 10, 'GET /rest/v2/contacts/model: contact custom field definitions (unpaged snapshot)'),
  ('tag_categories', 'keap.tag_categories', 20, 'GET /rest/v2/tags/categories'),
  ('tags', 'keap.tags', 30, 'GET /rest/v2/tags'),
  ('companies', 'keap.companies', 40, 'GET /rest/v2/companies'),
  ('contacts', 'keap.contacts', 50, 'GET /rest/v2/contacts with emails, phones, addresses, custom fields and tag ids'),
  ('tagged_contacts', 'keap.contact_tags', 60, 'GET /rest/v2/tags/{id}/contacts: when each tag was applied');
