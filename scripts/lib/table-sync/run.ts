// One run of a Postgres → Postgres table sync (e.g. athletes), on the shared run machinery:
// withRun() tracks the run (pipeline = the sync's name, one running run per pipeline), then
//   prepare (SQL decides full/incremental and builds the quoted source SELECT) → check the source's
//   column types (SQL decides) → COPY (select …) TO STDOUT on the source, streamed into COPY staging
//   FROM STDIN on the warehouse with backpressure (bounded memory, rows re-chunked into ~256 KB
//   CopyData messages; binary when the types match exactly, as SQL decides) → one SQL merge in a
//   transaction.
// TS maps, casts and decides nothing: every rule is in sql/transforms/200-table-sync.sql.
import { Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import postgres from 'postgres';
import { DatabaseConnectionError, maskUrl, type Db } from '../db.ts';
import { EXIT } from '../errors.ts';
import { withRun, type RunResult } from '../run.ts';

export interface TableSyncOptions {
  /** Force a full pass (with delete detection) even when an incremental one is possible. */
  full?: boolean;
  trigger?: string;
  /** One line of progress for a human. */
  onLine?: (line: string) => void;
  /** Install SIGINT/SIGTERM handlers for the run (default true). */
  handleSignals?: boolean;
}

export interface TableSyncSummary {
  sync: string;
  isFull: boolean;
  plan: string;
  staged: number;
  inserted: number;
  updated: number;
  unchanged: number;
  deleted: number;
  rejected: number;
  bytes: number;
  /** COPY format used: binary when every column's type matched exactly, else text. */
  copyFormat: 'binary' | 'text';
  copyMs: number;
  mergeMs: number;
}

export class UnknownPipelineError extends Error {
  readonly exitCode = EXIT.CONFIG;
  constructor(name: string, known: string[]) {
    super(`unknown pipeline '${name}': use keap${known.length ? ` or a declared table sync (${known.join(', ')})` : ''}`);
    this.name = 'UnknownPipelineError';
  }
}

/** Declared table syncs in the warehouse (their names are pipeline names). */
export async function declaredTableSyncs(db: Db): Promise<string[]> {
  const rows = await db.sql`select sync_name from analytics_staging.table_syncs order by sync_name`;
  return rows.map((r) => String(r.sync_name));
}

/** Joins row-sized CopyData chunks into larger buffers: far fewer socket writes on the warehouse side. */
class Rechunk extends Transform {
  bytes = 0;
  #parts: Buffer[] = [];
  #size = 0;
  constructor(private readonly target = 256 * 1024) {
    super();
  }
  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.#parts.push(chunk);
    this.#size += chunk.length;
    this.bytes += chunk.length;
    if (this.#size >= this.target) this.#emit();
    cb();
  }
  override _flush(cb: TransformCallback): void {
    if (this.#size > 0) this.#emit();
    cb();
  }
  #emit(): void {
    this.push(this.#parts.length === 1 ? this.#parts[0] : Buffer.concat(this.#parts, this.#size));
    this.#parts = [];
    this.#size = 0;
  }
}

function sourceClient(url: string, sync: string): postgres.Sql {
  return postgres(url, {
    max: 1,
    onnotice: () => {},
    connect_timeout: 15,
    idle_timeout: 0,
    prepare: false,
    // Read-only by construction, and update times rendered in UTC (the staging text form).
    connection: { application_name: `keap-sync table-sync ${sync}`, default_transaction_read_only: true, TimeZone: 'UTC' },
  });
}

export async function runTableSync(
  deps: { db: Db; sourceUrl: string },
  sync: string,
  opts: TableSyncOptions = {},
): Promise<RunResult<TableSyncSummary>> {
  const { db } = deps;
  const say = opts.onLine ?? (() => {});
  return withRun(db, sync, { trigger: opts.trigger ?? 'manual', ...(opts.full ? { notes: '--full' } : {}), ...(opts.handleSignals !== undefined ? { handleSignals: opts.handleSignals } : {}) }, async (ctx) => {
    ctx.setEntity(sync);
    const src = sourceClient(deps.sourceUrl, sync);
    // Cancelled: drop the source connection at once, so a query waiting on the source (a lock, a
    // slow scan) ends now instead of after the grace period.
    const onAbort = () => void src.end({ timeout: 0 }).catch(() => {});
    ctx.signal.addEventListener('abort', onAbort, { once: true });
    try {
      try {
        await src`select 1`;
      } catch (err) {
        throw new DatabaseConnectionError(`Could not connect to the source database at ${maskUrl(deps.sourceUrl)}: ${(err as Error).message}`, { cause: err });
      }
      ctx.throwIfCancelled();

      const [plan] = await db.sql`select * from analytics_staging.prepare_table_sync(${ctx.runId}, ${sync}, ${!!opts.full})`;
      const isFull = Boolean(plan!.is_full);
      const reason = String(plan!.reason);
      await ctx.event('info', reason, { stage: 'plan' });
      say(`${sync}: ${reason}`);

      // The source's column types, as the source names them; SQL compares them with what it expects.
      const described = await src.unsafe(String(plan!.source_select)).describe();
      const oids = [...new Set(described.columns.map((c) => c.type))];
      const typeRows = oids.length ? await src`select oid::int8 as oid, format_type(oid, null) as name from pg_type where oid = any(${oids}::oid[])` : [];
      const typeName = new Map(typeRows.map((r) => [Number(r.oid), String(r.name)]));
      const sourceTypes = Object.fromEntries(described.columns.map((c) => [c.name, typeName.get(c.type) ?? String(c.type)]));
      await db.sql`select analytics_staging.check_source_types(${sync}, ${db.sql.json(sourceTypes)})`;
      const [fmt] = await db.sql`select analytics_staging.copy_format(${sync}, ${db.sql.json(sourceTypes)}) as format`;
      const format = fmt!.format === 'binary' ? 'binary' : 'text';
      // Whether the source enforces the key (SQL built the catalogue query): lets the merge skip its duplicate check.
      let keyUnique = false;
      if (plan!.source_key_unique_sql) {
        const [k] = await src.unsafe(String(plan!.source_key_unique_sql));
        keyUnique = k?.key_unique === true;
      }
      ctx.throwIfCancelled();

      const t0 = performance.now();
      ctx.progress({ stage: 'copy', sync });
      const rechunk = new Rechunk();
      const tick = setInterval(() => ctx.progress({ stage: 'copy', sync, bytes: rechunk.bytes }), 1000);
      try {
        // Emptied and loaded in one transaction, so COPY can write the rows frozen: the merge's scan
        // of staging then never stops to check and set each row's commit status.
        await db.sql.begin(async (tx) => {
          await tx.unsafe(`truncate ${String(plan!.staging_table)}`);
          const reader = await src.unsafe(`copy (${String(plan!.source_select)}) to stdout with (format ${format})`).readable();
          const writer = await tx.unsafe(`copy ${String(plan!.staging_table)} (${String(plan!.staging_columns)}) from stdin with (format ${format}, freeze)`).writable();
          await pipeline(reader, rechunk, writer, { signal: ctx.signal });
        });
      } catch (err) {
        ctx.throwIfCancelled();
        throw err;
      } finally {
        clearInterval(tick);
      }
      const copyMs = performance.now() - t0;
      ctx.throwIfCancelled();

      ctx.progress({ stage: 'merge', sync, bytes: rechunk.bytes });
      const t1 = performance.now();
      const [m] = await db.sql.begin((tx) => tx`
        select * from analytics_staging.merge_table_sync(${ctx.runId}, ${sync}, ${isFull}, ${plan!.read_at as Date},
                                                         ${tx.json(sourceTypes)}, ${keyUnique})`);
      const mergeMs = performance.now() - t1;
      if (m!.vacuum_table) {
        // SQL asked for it (a large share of the target was written). Without the right to vacuum
        // (the writer role), PostgreSQL only warns and autovacuum does it later.
        ctx.progress({ stage: 'vacuum', sync });
        await db.sql.unsafe(`vacuum (analyze) ${String(m!.vacuum_table)}`);
        await ctx.event('info', `vacuumed ${String(m!.vacuum_table)} after writing a large share of it`, { stage: 'merge' });
      }
      const summary: TableSyncSummary = {
        sync,
        isFull,
        plan: reason,
        staged: Number(m!.staged_count),
        inserted: Number(m!.inserted_count),
        updated: Number(m!.updated_count),
        unchanged: Number(m!.unchanged_count),
        deleted: Number(m!.deleted_count),
        rejected: Number(m!.rejected_count),
        bytes: rechunk.bytes,
        copyFormat: format,
        copyMs,
        mergeMs,
      };
      await ctx.event('info', 'merged', { stage: 'merge', data: summary });
      return summary;
    } finally {
      ctx.signal.removeEventListener('abort', onAbort);
      await src.end({ timeout: 5 }).catch(() => {});
    }
  });
}

export function formatSummary(s: TableSyncSummary, runId: number, status: string): string {
  return (
    `run ${runId} ${status}: ${s.sync} ${s.isFull ? 'full pass' : 'incremental'}; ${s.staged} rows read ` +
    `(${(s.bytes / 1e6).toFixed(1)} MB ${s.copyFormat} in ${(s.copyMs / 1000).toFixed(1)} s), merged in ${(s.mergeMs / 1000).toFixed(1)} s: ` +
    `${s.inserted} inserted, ${s.updated} updated, ${s.unchanged} unchanged, ${s.deleted} deleted, ${s.rejected} rejected`
  );
}
