// Public entry point of the local Keap REST v2 sandbox: start/stop a real HTTP server in-process,
// read and change its data, tune limits/faults/latency/churn, and read request stats. Tests, the
// demo and the benchmarks import from here; scripts/sandbox.ts is the CLI around it.
export { startSandbox, type Sandbox, type SandboxOptions, type SandboxStats } from './server.ts';
export { SandboxStore, TENANT_ID, type TagLink, type TaggedContact } from './store.ts';
export { ENTITY_NAMES, MAX_CUSTOM_TEXT, type EntityName, type Rec, type CustomFieldMeta, type ModelEntity } from './generate.ts';
export { CONTACT_DEFAULT_FIELDS, COMPANY_DEFAULT_FIELDS } from './endpoints.ts';
export { FAULT_KINDS, type FaultKind, type FaultOptions } from './faults.ts';
export type { LimitOptions } from './limits.ts';
export type { OAuthConfig } from './auth.ts';
