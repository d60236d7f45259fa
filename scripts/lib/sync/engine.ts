// The sync engine: for each entity of the list (several at once, KEAP_SYNC_CONCURRENCY, each
// started in list order once the entities it is declared `after` are done), page the Keap v2 API
// (full keyset traversal or incremental from the saved watermark), write each raw page to keap_staging as it
// arrives (one short transaction per page, before anything else), and CALL the entity's SQL merge
// procedure every few pages and at the end. No field is mapped here: the merges own that, and
// they advance the cursors inside their own transaction.
import type { Config } from '../config.ts';
import type { Db, Sql } from '../db.ts';
import { EXIT, describeError } from '../errors.ts';
import { KeapApiError, KeapAuthError, KeapClient, QuotaReserveError, type KeapPage } from '../keap/client.ts';
import { withRun, type RunContext, type RunResult } from '../run.ts';
import { selectEntities, type EntityDef } from './entities.ts';

export type Traversal = 'full' | 'incremental' | 'snapshot';

export interface SyncOptions {
  entities?: string[];
  /** Full traversal with delete detection for every entity. */
  full?: boolean;
  /** Fetch one small page per entity to check access and show the plan; write nothing. */
  dryRun?: boolean;
  /** Incremental from this instant instead of the saved watermark. */
  since?: Date;
  trigger?: string;
  notes?: string;
  onProgress?: (p: SyncProgress) => void;
  onLine?: (line: string) => void;
  /** Override client construction (tests inject options; default from config). */
  client?: KeapClient;
  /** Replace the entity list (tests of the engine's paging modes; default: entities.ts). */
  entityDefs?: readonly EntityDef[];
  /** Entities synced at the same time (default: config.syncConcurrency, KEAP_SYNC_CONCURRENCY). */
  concurrency?: number;
}

export interface SyncProgress {
  entity: string;
  traversal: Traversal;
  pages: number;
  records: number;
  recordsPerSecond: number;
  quotaAvailable?: number | null;
  throttleAvailable?: number | null;
}

export interface EntitySummary {
  entity: string;
  traversal: Traversal;
  pages: number;
  records: number;
  inserted: number;
  updated: number;
  unchanged: number;
  deleted: number;
  rejected: number;
  plan?: string;
}

export interface SyncSummary {
  entities: EntitySummary[];
  stoppedEarly?: string;
}

/** A page whose body could not be parsed even after retries: kept raw, traversal cannot go on. */
class UnreadablePageError extends Error {
  constructor(
    readonly entity: string,
    message: string,
  ) {
    super(message);
  }
}

/** Shared by the entities synced side by side. */
interface LaneStop {
  /** Why the entities still running stop at their next page (another entity failed, or the quota reserve). */
  reason?: string;
  /** The entities being synced right now (shown with the progress). */
  running?: () => string[];
}

/** An entity stopped at a page boundary because another one ended the run's work. */
class LaneStoppedError extends Error {
  constructor(
    readonly entity: string,
    readonly pages: number,
  ) {
    super(`${entity}: stopped after ${pages} pages`);
  }
}

function iso(d: Date): string {
  return d.toISOString(); // always milliseconds and Z, as Keap's filters require
}

function recordsOf(def: EntityDef, body: unknown): unknown[] {
  if (!def.collectionKey) return body === undefined ? [] : [body];
  const list = (body as Record<string, unknown> | undefined)?.[def.collectionKey];
  return Array.isArray(list) ? list : [];
}

function nextTokenOf(body: unknown): string | undefined {
  const t = (body as { next_page_token?: unknown } | undefined)?.next_page_token;
  return typeof t === 'string' && t.length > 0 ? t : undefined;
}

/** What staging learned of a page: its records and next page token, or that it is not JSON. */
interface Staged {
  count: number;
  token?: string;
  /** Not JSON at all (not staged): ask again with the client's own checks and retries. */
  malformed?: boolean;
  /** The oldest update time of the page's records (only asked for a newest-first traversal). */
  oldest?: Date;
}

/** The oldest parseable value of a dotted-path time field over records parsed in Node. */
function oldestOf(records: unknown[], path: string | undefined): Date | undefined {
  if (!path) return undefined;
  let min: number | undefined;
  for (const r of records) {
    let v: unknown = r;
    for (const k of path.split('.')) v = v && typeof v === 'object' ? (v as Record<string, unknown>)[k] : undefined;
    const t = typeof v === 'string' ? Date.parse(v) : NaN;
    if (Number.isFinite(t) && (min === undefined || t < min)) min = t;
  }
  return min === undefined ? undefined : new Date(min);
}

/** Where a speculative prefetch can start: the last "next_page_token" string of the raw body. */
function guessNextToken(text: string): string | undefined {
  const i = text.lastIndexOf('"next_page_token"');
  if (i < 0) return undefined;
  const m = /^"next_page_token"\s*:\s*"([^"\\]*)"/.exec(text.slice(i, i + 4096));
  return m?.[1] || undefined;
}

/**
 * Write one raw page. A body the client did not parse goes to PostgreSQL as the text Keap sent,
 * parsed there once (no JSON.parse and re-serialising in Node, no parsed copy in memory); the same
 * statement returns its record count and next page token and sets the request's record count. A
 * body jsonb refuses (\u0000, lone surrogates) is kept as text when it is JSON all the same; one
 * that is not JSON is reported `malformed`, not staged.
 */
async function stagePage(
  sql: Sql,
  def: EntityDef,
  runId: number,
  page: KeapPage,
  pageNo: number,
  traversal: Traversal,
  parentKey: string | null,
  oldestPath?: string,
): Promise<Staged> {
  const table = sql(`keap_staging.${def.name}`);
  const raw = () => page.rawText.replace(/\u0000/g, '\\u0000');
  const stageRaw = async (error: string, body: unknown): Promise<Staged> => {
    await sql`
      insert into ${table} (run_id, request_id, page_no, parent_key, traversal, raw_body, parse_error)
      values (${runId}, ${page.requestId}, ${pageNo}, ${parentKey}, ${traversal}, ${raw()}, ${error})`;
    const count = body === undefined ? 0 : recordsOf(def, body).length;
    await sql`select keap_meta.set_request_record_count(${page.requestId}, ${count})`;
    const oldest = body === undefined ? undefined : oldestOf(recordsOf(def, body), oldestPath);
    return { count, ...(body === undefined ? {} : { token: nextTokenOf(body) }), ...(oldest ? { oldest } : {}) };
  };
  if (page.parseError) return stageRaw(page.parseError, undefined);
  if (page.body !== undefined) {
    // Parsed by the client (a page asked again after a malformed body, or a dry run).
    try {
      await sql`
        insert into ${table} (run_id, request_id, page_no, parent_key, traversal, payload)
        values (${runId}, ${page.requestId}, ${pageNo}, ${parentKey}, ${traversal}, ${page.rawText}::text::jsonb)`;
      const oldest = oldestOf(recordsOf(def, page.body), oldestPath);
      return { count: recordsOf(def, page.body).length, token: nextTokenOf(page.body), ...(oldest ? { oldest } : {}) };
    } catch (err) {
      // 22P05: jsonb cannot hold \u0000; the merge parses the text form and records the issue.
      if ((err as { code?: string }).code !== '22P05') throw err;
      return stageRaw('body contains \\u0000, which jsonb cannot store', page.body);
    }
  }
  try {
    const [r] = await sql`
      with p as materialized (select ${page.rawText}::text::jsonb as j),
      ins as (
        insert into ${table} (run_id, request_id, page_no, parent_key, traversal, payload)
        select ${runId}, ${page.requestId}, ${pageNo}, ${parentKey}, ${traversal}, p.j from p
      ),
      c as (
        select case when ${def.collectionKey ?? null}::text is null then 1
                    when jsonb_typeof(p.j -> ${def.collectionKey ?? ''}::text) = 'array' then jsonb_array_length(p.j -> ${def.collectionKey ?? ''}::text)
                    else 0 end as n,
               p.j ->> 'next_page_token' as token,
               case when ${oldestPath ?? null}::text is not null and jsonb_typeof(p.j -> ${def.collectionKey ?? ''}::text) = 'array' then
                 (select min(keap_meta.try_timestamptz(e.rec #>> string_to_array(${oldestPath ?? ''}::text, '.')))
                    from jsonb_array_elements(p.j -> ${def.collectionKey ?? ''}::text) e(rec))
               end as oldest,
               -- the request log counts a page's first list (a model's custom_fields), as the client does
               coalesce((select jsonb_array_length(e.v) from jsonb_each(case when jsonb_typeof(p.j) = 'object' then p.j end) e(k, v)
                          where jsonb_typeof(e.v) = 'array' limit 1), 0) as logged
          from p
      )
      select c.n::int as n, c.token, c.oldest, keap_meta.set_request_record_count(${page.requestId}, c.logged) is null as counted from c`;
    return {
      count: Number(r!.n),
      ...(typeof r!.token === 'string' && r!.token ? { token: r!.token } : {}),
      ...(r!.oldest ? { oldest: new Date(r!.oldest as Date) } : {}),
    };
  } catch (err) {
    const code = (err as { code?: string }).code;
    // 22P02: not JSON; 22P05 (and other class-22 refusals): JSON that jsonb cannot hold.
    if (!code?.startsWith('22')) throw err;
    let body: unknown;
    try {
      body = JSON.parse(page.rawText);
    } catch {
      return { count: 0, malformed: true };
    }
    return stageRaw(
      code === '22P05' ? 'body contains \\u0000, which jsonb cannot store' : `PostgreSQL refused the body as jsonb: ${(err as Error).message}`,
      body,
    );
  }
}

/**
 * Merges that run while the next pages are fetched and staged, one at a time per entity: as soon
 * as one ends, the next starts with every page staged meanwhile once at least `minRecords` wait
 * (`settle` merges the rest), so merging keeps pace with the network. `wait(limit)` holds the
 * fetching back while more than `limit` staged records wait for a merge (the database is the
 * slower side). A merge's failure is thrown by the next call.
 */
class BackgroundMerges {
  private inFlight: Promise<void> | undefined;
  private failure: { error: unknown } | undefined;
  private waiting = 0;

  constructor(
    private readonly run: () => Promise<void>,
    private readonly minRecords = 1,
  ) {}

  /** Records were staged: start a merge unless one is running (it is followed by another). */
  staged(records: number): void {
    this.waiting += Math.max(records, 1);
    this.kick();
  }

  private kick(force = false): void {
    if (this.inFlight || this.failure || this.waiting === 0) return;
    if (!force && this.waiting < this.minRecords) return;
    this.waiting = 0;
    this.inFlight = this.run().then(
      () => {
        this.inFlight = undefined;
        this.kick();
      },
      (error: unknown) => {
        this.failure ??= { error };
        this.inFlight = undefined;
      },
    );
  }

  async wait(limit: number): Promise<void> {
    while (this.waiting >= limit && this.inFlight) await this.inFlight;
    if (this.failure) throw this.failure.error;
  }

  async settle(): Promise<void> {
    while (this.inFlight) await this.inFlight;
    this.kick(true);
    while (this.inFlight) await this.inFlight;
    if (this.failure) throw this.failure.error;
  }
}

/**
 * CALL an entity's merge in its own transaction. `holdWatermark`: the merged pages are a newest-first
 * traversal that has not reached the saved watermark yet, so the merge must not move it
 * (keap_meta.advance_cursor reads the transaction-local setting keap.hold_watermark).
 */
async function merge(sql: Sql, def: EntityDef, runId: number, finishSweep: boolean, holdWatermark = false): Promise<void> {
  const proc = def.merge.split('.').map((p) => `"${p.replace(/"/g, '""')}"`).join('.');
  await sql.begin(async (tx) => {
    if (holdWatermark) await tx`select set_config('keap.hold_watermark', 'on', true)`;
    await tx.unsafe(`call ${proc}($1, $2)`, [runId, finishSweep]);
  });
}

interface CursorRow {
  updated_since: Date | null;
  full_after_id: number | null;
  full_sweep_started_at: Date | null;
  last_full_completed_at: Date | null;
}

async function cursorOf(sql: Sql, entity: string): Promise<CursorRow | undefined> {
  const [row] = await sql`
    select updated_since, full_after_id, full_sweep_started_at, last_full_completed_at
      from keap_meta.sync_cursors where entity = ${entity}`;
  return row as CursorRow | undefined;
}

export interface EngineDeps {
  db: Db;
  config: Config;
}

/** Run one tracked sync (pipeline `keap`). */
export async function runSync(deps: EngineDeps, opts: SyncOptions = {}): Promise<RunResult<SyncSummary>> {
  const { db, config } = deps;
  const defs = selectEntities(opts.entities, opts.entityDefs);
  const notes = opts.notes ?? [
    opts.full ? '--full' : '',
    opts.dryRun ? '--dry-run' : '',
    opts.since ? `--since ${iso(opts.since)}` : '',
    opts.entities?.length ? `--entity ${opts.entities.join(',')}` : '',
  ].filter(Boolean).join(' ');

  return withRun(
    db,
    'keap',
    { trigger: opts.trigger ?? (opts.dryRun ? 'dry_run' : 'manual'), notes: notes || undefined, heartbeatSeconds: config.heartbeatSeconds, progressIntervalMs: config.progressIntervalMs },
    async (ctx) => {
      const client = opts.client ?? new KeapClient({ config, db });
      const summary: SyncSummary = { entities: [] };
      const results = new Map<string, EntitySummary>();
      // Entities run side by side, up to `lanes` at once, each started in list order as soon as
      // the entities it is declared `after` are done. A fatal failure (or the quota reserve)
      // starts no further entity and stops the others at their next page; each merges what it
      // staged (a request already in flight is logged, its page not staged).
      const lanes = Math.max(1, Math.floor(opts.concurrency ?? config.syncConcurrency ?? 1));
      const selected = new Set(defs.map((d) => d.name));
      const done = new Set<string>();
      const pending = [...defs];
      const running = new Map<string, Promise<void>>();
      const stop: LaneStop = { running: () => [...running.keys()] };

      const failures: { index: number; def: EntityDef; error: unknown }[] = [];
      const failWith = (def: EntityDef, err: unknown) => {
        // The entity is recorded as the run's error_entity.
        if (err && typeof err === 'object' && !('entity' in err)) Object.defineProperty(err, 'entity', { value: def.name, enumerable: false });
        failures.push({ index: defs.indexOf(def), def, error: err });
        stop.reason ??= `${def.name} failed`;
      };
      const runEntity = (def: EntityDef): Promise<void> =>
        syncOne(def).then(
          () => void done.add(def.name),
          (err: unknown) => {
            failWith(def, err);
            done.add(def.name);
          },
        );
      const syncOne = async (def: EntityDef): Promise<void> => {
        // Set by syncEntity while a newest-first traversal has not reached the watermark.
        const state = { holdWatermark: false };
        try {
          results.set(def.name, await syncEntity(ctx, client, deps, def, opts, state, stop));
        } catch (err) {
          if (err instanceof QuotaReserveError || err instanceof UnreadablePageError || err instanceof LaneStoppedError) {
            // Keep what was fetched: merge it (the cursor moves only as far as merged data).
            await merge(ctx.sql, def, ctx.runId, false, state.holdWatermark).catch((mergeErr: unknown) => {
              if (!(err instanceof LaneStoppedError)) throw mergeErr;
            });
          }
          if (err instanceof QuotaReserveError) {
            summary.stoppedEarly ??= `${def.name}: ${err.message}`;
            stop.reason ??= `the daily-quota reserve was reached while syncing ${def.name}`;
            await ctx.event('warn', `stopped at the daily-quota reserve: ${err.message}`, { stage: 'fetch', entity: def.name });
            ctx.markPartial(`stopped at the daily-quota reserve while syncing ${def.name}: ${err.message}`, EXIT.QUOTA_RESERVE);
            return;
          }
          if (err instanceof UnreadablePageError) {
            summary.stoppedEarly ??= `${def.name}: ${err.message}`;
            await ctx.event('error', err.message, { stage: 'fetch', entity: def.name });
            ctx.markPartial(err.message, EXIT.KEAP_API);
            return;
          }
          if (err instanceof LaneStoppedError) {
            await ctx.event('info', `${def.name}: stopped after ${err.pages} pages (${stop.reason}); what was staged is merged`, { stage: 'fetch', entity: def.name });
            return;
          }
          throw err;
        }
      };

      const ready = (d: EntityDef) => (d.after ?? []).every((a) => !selected.has(a) || done.has(a));
      for (;;) {
        while (!stop.reason && running.size < lanes) {
          const i = pending.findIndex(ready);
          if (i < 0) break;
          const def = pending.splice(i, 1)[0]!;
          ctx.setEntity(def.name);
          running.set(def.name, runEntity(def).finally(() => running.delete(def.name)));
        }
        if (running.size === 0) break;
        await Promise.race(running.values());
      }
      if (failures.length > 0) {
        // Entities side by side can fail for one cause (a refused key): the run fails with the
        // error of the first in list order, the others are in the run's events.
        failures.sort((a, b) => a.index - b.index);
        for (const f of failures.slice(1)) {
          await ctx.event('error', `${f.def.name} failed too: ${describeError(f.error)}`, { stage: 'fetch', entity: f.def.name }).catch(() => {});
        }
        throw failures[0]!.error;
      }
      ctx.throwIfCancelled();
      // In list order, whatever order they ended in.
      for (const def of defs) {
        const r = results.get(def.name);
        if (r) summary.entities.push(r);
      }
      ctx.setEntity(undefined);
      return summary;
    },
  );
}

async function syncEntity(
  ctx: RunContext,
  client: KeapClient,
  deps: EngineDeps,
  def: EntityDef,
  opts: SyncOptions,
  state: { holdWatermark: boolean },
  stop: LaneStop = {},
): Promise<EntitySummary> {
  const { config } = deps;
  const sql = ctx.sql;
  const started = Date.now();
  const cursor = await cursorOf(sql, def.name);

  // Choose the traversal.
  let traversal: Traversal;
  let filter: string | undefined;
  let orderBy: string | undefined;
  let plan: string;
  // A newest-first incremental traversal: stop below this instant (the watermark less the overlap).
  let stopBelow: { path: string; since: Date } | undefined;
  if (!def.collectionKey) {
    traversal = 'snapshot';
    plan = 'snapshot (unpaged)';
  } else {
    const sweepDue =
      config.fullSweepHours > 0 &&
      def.sweeps &&
      (!cursor?.last_full_completed_at || Date.now() - new Date(cursor.last_full_completed_at).getTime() > config.fullSweepHours * 3600_000);
    const incrementalPossible = !!def.incremental && (!!opts.since || !!cursor?.updated_since);
    const resuming = !!cursor?.full_sweep_started_at && def.sweeps;
    if (!opts.full && incrementalPossible && !resuming && !(sweepDue && !opts.since)) {
      traversal = 'incremental';
      const since = opts.since ?? new Date(new Date(cursor!.updated_since!).getTime() - config.overlapSeconds * 1000);
      filter = def.incremental!.filter?.(iso(since));
      orderBy = def.incremental!.orderBy;
      if (def.incremental!.stopBelow) {
        stopBelow = { path: def.incremental!.stopBelow, since };
        state.holdWatermark = true;
        plan = `incremental, newest first down to ${def.incremental!.stopBelow} ${iso(since)}`;
      } else {
        plan = `incremental since ${iso(since)}`;
      }
    } else {
      traversal = 'full';
      let after = 0;
      if (def.sweeps && !opts.dryRun) {
        const [row] = await sql`select keap_meta.begin_full_sweep(${def.name}, ${ctx.runId}) as after_id`;
        // With partitions the largest id merged may come from another partition: no keyset resume.
        after = def.partitions ? 0 : Number(row?.after_id ?? 0);
      }
      filter = def.full?.filter(after);
      orderBy = def.full?.orderBy;
      // A list without an id filter (tags, opportunities, ...) cannot resume by keyset: it starts over.
      const byKeyset = after > 0 && filter !== def.full?.filter(0);
      plan = byKeyset ? `full, resuming after id ${after}` : resuming ? 'full (resuming)' : 'full';
    }
  }
  if (def.partitions && traversal !== 'snapshot') plan += `, in ${def.partitions.length} partitions (${def.partitions.join(' / ')})`;
  await ctx.event('info', `${def.name}: ${plan}`, { stage: 'plan', entity: def.name, data: { traversal, filter, orderBy, partitions: def.partitions } });
  opts.onLine?.(`${def.name}: ${plan}${filter ? ` (filter ${filter})` : ''}`);

  // The lists one traversal reads: one per parent (nested lists), one per partition, or just one.
  const parents: (number | null)[] = def.parents
    ? await def.parents(sql, traversal === 'incremental' ? 'incremental' : 'full')
    : def.partitions && traversal !== 'snapshot' ? def.partitions.map(() => null) : [null];
  const filterOf = (i: number) => [filter, traversal !== 'snapshot' ? def.partitions?.[i] : undefined].filter(Boolean).join(';') || undefined;
  const pageSize = def.collectionKey ? Math.min(config.pageSize, def.maxPageSize) : undefined;
  let pages = 0;
  let records = 0;
  let complete = true;

  const report = () => {
    const secs = (Date.now() - started) / 1000;
    const s = client.stats();
    opts.onProgress?.({
      entity: def.name,
      traversal,
      pages,
      records,
      recordsPerSecond: secs > 0 ? records / secs : 0,
      quotaAvailable: s.lastQuota?.quotaAvailable ?? null,
      throttleAvailable: s.lastQuota?.throttleAvailable ?? null,
    });
    const others = stop.running?.().filter((e) => e !== def.name) ?? [];
    ctx.progress({ entity: def.name, traversal, pages, records, ...(others.length ? { also_running: others } : {}) });
  };

  // While a page is staged the next one is already being fetched, and merges run in the
  // background (BackgroundMerges): the network and the database work overlap.
  // At most mergeEveryPages full pages' worth of staged records wait for a merge.
  const backlogRecords = config.mergeEveryPages * (pageSize ?? 1);
  // A merge has a fixed cost (a statement or two per child collection, history included): one waits
  // for half the backlog (KEAP_MERGE_EVERY_PAGES / 2 full pages) unless the traversal ended. On a
  // 10,000-contact sync this took the contacts from 6-10 merges to 3, their merge time down by
  // 20-30 % and the sync by 5-10 % (bench/prof-sync, three alternating runs each).
  const merges = new BackgroundMerges(() => merge(sql, def, ctx.runId, false), Math.ceil(config.mergeEveryPages / 2) * (pageSize ?? 1));
  const fetchPage = async (listIndex: number, token: string | undefined, parse = !!opts.dryRun): Promise<KeapPage> => {
    const query: Record<string, string | number | undefined> = {};
    const listFilter = filterOf(listIndex);
    if (pageSize !== undefined) {
      query.page_size = opts.dryRun ? 1 : pageSize;
      if (orderBy) query.order_by = orderBy;
      if (listFilter) query.filter = listFilter;
      if (def.fields) query.fields = def.fields.join(',');
      if (token) query.page_token = token;
    }
    return client.get(ctx, endpointOf(listIndex), query, { entity: def.name, pageNo: pages + 1, parse });
  };

  // One flat sequence of requests over every parent's pages, so the next request (the next page
  // of this parent, or the first page of the next parent) is in flight while a page is staged.
  const endpointOf = (i: number) => (parents[i] === null ? def.endpoint : def.endpoint.replace('{parent}', String(parents[i])));
  interface Pending { parentIndex: number; token: string | undefined; page: Promise<KeapPage> }
  const request = (parentIndex: number, token: string | undefined): Pending => {
    const page = fetchPage(parentIndex, token);
    // Awaited on its turn; until then a failure must not count as unhandled.
    page.catch(() => {});
    return { parentIndex, token, page };
  };

  try {
    let next: Pending | undefined = parents.length > 0 ? request(0, undefined) : undefined;
    while (next) {
      ctx.throwIfCancelled();
      if (stop.reason) throw new LaneStoppedError(def.name, pages);
      const current: Pending = next;
      const parent = parents[current.parentIndex]!;
      let page: KeapPage;
      try {
        page = await current.page;
      } catch (err) {
        // A parent deleted in Keap since we listed it (a tag removed meanwhile): skip it, the
        // next sync of the parent entity records the deletion.
        if (parent !== null && err instanceof KeapApiError && !(err instanceof KeapAuthError) && err.status === 404) {
          await ctx.event('warn', `${def.name}: parent ${parent} no longer exists in Keap (404); skipped`, { stage: 'fetch', entity: def.name });
          next = current.parentIndex + 1 < parents.length ? request(current.parentIndex + 1, undefined) : undefined;
          continue;
        }
        throw err;
      }
      pages++;
      if (opts.dryRun) {
        records += page.parseError ? 0 : recordsOf(def, page.body).length;
        break;
      }
      // The next page is asked for while this one is staged, on the token the raw body shows; the
      // token PostgreSQL reads from the staged page confirms it (a wrong guess is asked again).
      // (Not in a newest-first traversal: its last page is known only once staged, and a request
      // past it would be wasted quota.)
      const guess = def.collectionKey && !page.parseError && !stopBelow ? guessNextToken(page.rawText) : undefined;
      // No next page in sight: the next parent's first page is asked for meanwhile instead (a
      // nested list such as /tags/{id}/contacts is mostly one page per parent).
      const nextParent = !guess && !page.parseError && !opts.dryRun && current.parentIndex + 1 < parents.length ? request(current.parentIndex + 1, undefined) : undefined;
      const speculative = guess ? request(current.parentIndex, guess) : undefined;
      const parentKey = parent === null ? null : String(parent);
      let staged = await stagePage(sql, def, ctx.runId, page, pages, traversal, parentKey, stopBelow?.path);
      if (staged.malformed) {
        // Not JSON: the client asks again, with its own checks and retries, and parses.
        page = await fetchPage(current.parentIndex, current.token, true);
        staged = await stagePage(sql, def, ctx.runId, page, pages, traversal, parentKey, stopBelow?.path);
      }
      records += staged.count;
      if (page.parseError) {
        complete = false;
        throw new UnreadablePageError(
          def.name,
          `${def.name}: page ${pages} could not be parsed after retries (${page.parseError}); the raw page is kept in keap_staging.${def.name}, the traversal stops here and resumes next run`,
        );
      }
      // Newest first: a page reaching below the watermark is the last one this traversal needs.
      const reachedWatermark = !!stopBelow && !!staged.oldest && staged.oldest.getTime() < stopBelow.since.getTime();
      if (staged.token && staged.count > 0 && !reachedWatermark) next = speculative && guess === staged.token ? speculative : request(current.parentIndex, staged.token);
      else next = current.parentIndex + 1 < parents.length ? (nextParent ?? request(current.parentIndex + 1, undefined)) : undefined;
      // A newest-first traversal merges once, at its end: a merge before it reaches the
      // watermark could not move the cursor anyway (and its pages are few).
      if (!stopBelow) merges.staged(staged.count);
      report();
      await merges.wait(backlogRecords);
    }
    await merges.settle();
  } catch (err) {
    // Let a merge in flight finish (or fail) before the caller merges what was staged.
    await merges.settle().catch(() => {});
    throw err;
  }

  let counts = { inserted: 0, updated: 0, unchanged: 0, deleted: 0, rejected: 0 };
  if (!opts.dryRun) {
    // The traversal got to its end (or below the watermark): the cursor may move.
    state.holdWatermark = false;
    await merge(sql, def, ctx.runId, complete && traversal !== 'incremental' && def.sweeps);
    const [row] = await sql`
      select coalesce(sum(inserted_count), 0)::bigint as inserted, coalesce(sum(updated_count), 0)::bigint as updated,
             coalesce(sum(unchanged_count), 0)::bigint as unchanged, coalesce(sum(deleted_count), 0)::bigint as deleted,
             coalesce(sum(rejected_count), 0)::bigint as rejected
        from keap_meta.merge_log where run_id = ${ctx.runId} and entity = ${def.name}`;
    counts = {
      inserted: Number(row?.inserted ?? 0),
      updated: Number(row?.updated ?? 0),
      unchanged: Number(row?.unchanged ?? 0),
      deleted: Number(row?.deleted ?? 0),
      rejected: Number(row?.rejected ?? 0),
    };
  }
  report();
  const s: EntitySummary = { entity: def.name, traversal, pages, records, ...counts, plan };
  await ctx.event('info', `${def.name}: ${pages} pages, ${records} records`, { stage: 'merge', entity: def.name, data: s });
  return s;
}
