-- 00016: partial indexes on the soft-deleted rows of the entity tables, so keap_ops.entity_freshness
-- counts deleted rows without scanning the tables (deleted rows are few; live rows are estimated).

create index custom_fields_deleted on keap.custom_fields (_deleted_at) where _deleted_at is not null;
create index tag_categories_deleted on keap.tag_categories (_deleted_at) where _deleted_at is not null;
create index tags_deleted on keap.tags (_deleted_at) where _deleted_at is not null;
create index companies_deleted on keap.companies (_deleted_at) where _deleted_at is not null;
create index contacts_deleted on keap.contacts (_deleted_at) where _deleted_at is not null;
