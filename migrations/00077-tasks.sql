-- 00077: tasks (GET /rest/v2/tasks with fields=custom_fields), their custom field values, and the
-- staging table. Merge: keap.merge_tasks generated from sql/transforms/065-declare-tasks.sql.
-- Incremental: filter since_time (Keap does not say which time it compares; read as
-- modification_time, see the README), with the overlap window and the periodic full traversal as
-- the safety net. Completed and open tasks come in the same listing.

create table keap.tasks (
  task_id                 bigint primary key,
  title                   text,
  description             text,
  type                    text,
  priority                text,
  is_completed            boolean,
  is_accepted             boolean,
  contact_id              bigint,
  opportunity_id          bigint,
  assigned_to_user_id     bigint,
  created_by_user_id      bigint,
  last_updated_by_user_id bigint,
  due_at                  timestamptz,
  remind_time_mins        integer,
  completed_at            timestamptz,
  created_at              timestamptz,
  updated_at              timestamptz
);
select keap_meta.add_entity_etl_columns('keap.tasks', 'Task');
create index tasks_updated_at on keap.tasks (updated_at);
create index tasks_contact_id on keap.tasks (contact_id);
create index tasks_assigned_open on keap.tasks (assigned_to_user_id, due_at) where not is_completed and _deleted_at is null;

comment on table keap.tasks is 'Keap tasks, open and completed, one row per task (GET /rest/v2/tasks). Custom field values are in keap.task_custom_fields.';
comment on column keap.tasks.task_id is 'Keap task id.';
comment on column keap.tasks.title is 'Task title.';
comment on column keap.tasks.description is 'Task description (CreationNotes in Keap''s legacy naming).';
comment on column keap.tasks.type is 'Task type label as Keap sends it (Call, Email, Appointment, ...).';
comment on column keap.tasks.priority is 'CRITICAL, ESSENTIAL or NONESSENTIAL; unknown values are kept and recorded as a row issue.';
comment on column keap.tasks.is_completed is 'Whether the task is done (completed).';
comment on column keap.tasks.is_accepted is 'Whether the assigned user accepted the task (accepted).';
comment on column keap.tasks.contact_id is 'Contact the task is about (keap.contacts, not a foreign key).';
comment on column keap.tasks.opportunity_id is 'Opportunity the task belongs to, if any (keap.opportunities).';
comment on column keap.tasks.assigned_to_user_id is 'Keap user the task is assigned to; null when unassigned (keap.users).';
comment on column keap.tasks.created_by_user_id is 'Keap user who created the task.';
comment on column keap.tasks.last_updated_by_user_id is 'Keap user who last changed the task.';
comment on column keap.tasks.due_at is 'When the task is due (due_time); null when it has no due date.';
comment on column keap.tasks.remind_time_mins is 'Reminder, in minutes before due_at (5, 10, 15, 30, 60, 120, 240, 480, 1440 or 2880).';
comment on column keap.tasks.completed_at is 'When the task was completed (completion_time).';
comment on column keap.tasks.created_at is 'When the task was created (create_time).';
comment on column keap.tasks.updated_at is 'When the task was last changed (modification_time); the incremental watermark field.';

select keap_meta.create_custom_field_values_table('task_custom_fields', 'keap.tasks', 'task_id', 'tasks');

insert into keap_meta.entities (entity, target_table, sync_order, description) values
  ('tasks', 'keap.tasks', 790, 'GET /rest/v2/tasks with custom fields; incremental: since_time (read as modification time)');

select keap_meta.create_staging_table('tasks');
