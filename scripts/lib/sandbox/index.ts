// Public entry point of the local Keap REST v2 sandbox: start/stop a real HTTP server in-process,
// read and change its data, tune limits/faults/latency/churn, and read request stats. Tests, the
// demo and the benchmarks import from here; scripts/sandbox.ts is the CLI around it.
//
//   const sb = await startSandbox({ contacts: 10_000, seed: 1 });
//   await fetch(`${sb.url}/rest/v2/contacts?page_size=1000`, { headers: { 'X-Keap-API-Key': 'sandbox-api-key' } });
//   sb.store.updateContact(id, { job_title: 'CEO' });    // bumps update_time to "now"
//   sb.store.applyTag(id, tagId);                         // also bumps the contact's update_time
//   sb.stats().throttleViolations;  await sb.close();
//
// Store (sb.store): list(entity) / get(entity, id) / count(entity) in exact v2 shape with every
// field; tagLinks(contactId) and taggedContacts(tagId) with applied times; model(entity);
// userInfo(); mutations addContact / updateContact / deleteContact / applyTag / removeTag and
// generic add / update / delete(entity, ...) for every entity in ENTITY_NAMES.
//
// Behaviour where Keap is silent or the spec is wrong (details in the module headers):
// - optional fields are omitted rather than null, because the spec allows no nulls; pass
//   `nulls: true` for live-API-style nulls (then bodies no longer validate);
// - tasks' remind_time_mins is an integer (the spec's enum lists strings, which nothing can match);
// - time filters are inclusive on both ends; no order_by means id asc;
// - 401s carry tenant rate-limit headers only (the caller is unknown); /token is neither rate
//   limited nor fault-injected; OAuth spike arrest (not visible in headers) is not simulated.
export { startSandbox, type Sandbox, type SandboxOptions, type SandboxStats } from './server.ts';
export { SandboxStore, TENANT_ID, type TagLink, type TaggedContact } from './store.ts';
export { ENTITY_NAMES, MAX_CUSTOM_TEXT, type EntityName, type Rec, type CustomFieldMeta, type ModelEntity } from './generate.ts';
export { CONTACT_DEFAULT_FIELDS, COMPANY_DEFAULT_FIELDS } from './endpoints.ts';
export { FAULT_KINDS, type FaultKind, type FaultOptions } from './faults.ts';
export type { LimitOptions } from './limits.ts';
export type { OAuthConfig } from './auth.ts';
