// keap_ops.pipeline_by_stage and keap_ops.contact_email_domains: selectable (and empty) on an empty
// database, and after a real sync from the sandbox equal to what the sandbox's own data says.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSandbox, type Sandbox } from '../../scripts/lib/sandbox/index.ts';
import { runSync } from '../../scripts/lib/sync/engine.ts';
import { createTestDatabase, type TestDb } from '../helpers/db.ts';
import { API_KEY, sandboxConfig } from './helpers.ts';

let db: TestDb;
let sb: Sandbox;
type Rec = Record<string, any>;
const list = (e: Parameters<Sandbox['store']['list']>[0]) => [...sb.store.list(e)] as Rec[];

beforeAll(async () => {
  db = await createTestDatabase('pipeline_views');
  sb = await startSandbox({ contacts: 500, seed: 31, apiKeys: [API_KEY], limits: { throttlePerMinute: 100_000, dailyQuota: 10_000_000 } });
});
afterAll(async () => {
  await sb?.close();
  await db?.drop();
});

/** Exact sum of JSON numbers, added by PostgreSQL from their text (no float on the way). */
async function exactSum(values: unknown[]): Promise<string> {
  const texts = values.filter((v) => v !== undefined && v !== null).map((v) => JSON.stringify(v));
  const [r] = await db.sql`select coalesce(sum(v::numeric), 0)::text as s from unnest(${texts}::text[]) v`;
  return r.s;
}

describe('pipeline and activity views', () => {
  it('select from both views on an empty database: no rows, no error', async () => {
    expect(await db.sql`select * from keap_ops.pipeline_by_stage`).toEqual([]);
    expect(await db.sql`select * from keap_ops.contact_email_domains`).toEqual([]);
  });

  it('pipeline_by_stage after a sync: counts, exact revenue sums, weights and time in stage per stage', async () => {
    // One stage disappears from Keap while opportunities still point to it.
    const gone = list('stages')[5];
    sb.store.delete('stages', gone.id);
    const res = await runSync({ db, config: sandboxConfig(sb) }, { trigger: 'test' });
    expect(res.status).toBe('succeeded');

    const rows = await db.sql`
      select opportunity_stage_id, stage_name, stage_order, stage_is_listed, probability_pct, opportunity_count,
             in_forecast_count, projected_revenue_low::text as low, projected_revenue_high::text as high,
             weighted_revenue_high::text as weighted_high, avg_days_in_stage::float8 as avg_days, over_target_count
        from keap_ops.pipeline_by_stage order by stage_order nulls last, opportunity_stage_id`;
    const stages = list('stages');
    const opps = list('opportunities');
    const moves = list('stage_moves');
    expect(rows.map((r) => Number(r.opportunity_stage_id))).toEqual([...stages.map((s) => Number(s.id)), Number(gone.id)]);
    for (const r of rows) {
      const id = String(r.opportunity_stage_id);
      const inStage = opps.filter((o) => o.stage.id === id);
      const stage = stages.find((s) => s.id === id);
      expect(r.stage_is_listed).toBe(!!stage);
      expect(r.stage_name).toBe(stage ? stage.name : inStage[0].stage.name);
      expect(Number(r.opportunity_count)).toBe(inStage.length);
      expect(Number(r.in_forecast_count)).toBe(inStage.filter((o) => o.include_in_forecast).length);
      expect(r.low).toBe(await exactSum(inStage.map((o) => o.projected_revenue_low)));
      expect(r.high).toBe(await exactSum(inStage.map((o) => o.projected_revenue_high)));
      if (stage) {
        const [w] = await db.sql`select (${r.high}::numeric * ${stage.probability}::int / 100)::text as w`;
        expect(Number(r.weighted_high)).toBe(Number(w.w));
        // Time in stage: since the latest move into the current stage, else since creation.
        const entered = inStage.map((o) => {
          const into = moves.filter((m) => m.opportunity_id === o.id && m.move_to_stage_id === id).map((m) => Date.parse(m.move_time));
          return into.length ? Math.max(...into) : Date.parse(o.created_time);
        });
        if (entered.length) {
          const avg = entered.reduce((a, t) => a + (Date.now() - t) / 86_400_000, 0) / entered.length;
          expect(Math.abs(r.avg_days - avg)).toBeLessThan(0.1);
        }
        if (stage.target_number_days > 0) {
          expect(Number(r.over_target_count)).toBe(entered.filter((t) => Date.now() - t > stage.target_number_days * 86_400_000).length);
        } else expect(r.over_target_count).toBeNull();
      } else {
        expect(r.probability_pct).toBeNull();
        expect(r.stage_order).toBeNull();
      }
    }
    const total = rows.reduce((a, r) => a + Number(r.opportunity_count), 0);
    expect(total).toBe(opps.length);
  });

  it('an opportunity moved to another stage now counts there, with about zero days in it', async () => {
    const stages = list('stages');
    const target = stages[stages.length - 1];
    const opp = list('opportunities').find((o) => o.stage.id !== target.id)!;
    sb.store.update('opportunities', opp.id, { stage: { id: target.id, name: target.name, reasons: ['Price'] } });
    const res = await runSync({ db, config: sandboxConfig(sb) }, { trigger: 'test', entities: ['opportunities', 'opportunity_stage_moves'] });
    expect(res.status).toBe('succeeded');
    const [row] = await db.sql`select opportunity_count, max_days_in_stage::float8 as max_days, avg_days_in_stage from keap_ops.pipeline_by_stage where opportunity_stage_id = ${target.id}`;
    expect(Number(row.opportunity_count)).toBe(list('opportunities').filter((o) => o.stage.id === target.id).length);
    const [mine] = await db.sql`
      select extract(epoch from now() - m.moved_at) / 86400 as days
        from keap.opportunity_stage_moves m where m.opportunity_id = ${opp.id} and m.to_stage_id = ${target.id}
       order by m.moved_at desc limit 1`;
    expect(Number(mine.days)).toBeLessThan(0.01);
  });

  it('contact_email_domains after a sync: live contacts per domain from every e-mail slot', async () => {
    const victim = list('contacts').find((c) => (c.email_addresses ?? []).length > 0)!;
    sb.store.deleteContact(victim.id);
    await runSync({ db, config: sandboxConfig(sb) }, { trigger: 'test', full: true, entities: ['contacts'] });
    const want = new Map<string | null, { contacts: Set<string>; primary: Set<string>; optedIn: Set<string>; emails: number }>();
    const contacts = list('contacts');
    for (const c of contacts) {
      for (const e of (c.email_addresses ?? []) as Rec[]) {
        if (!e.field || typeof e.email !== 'string' || e.email.trim() === '') continue;
        const m = /@([^@]*)$/.exec(e.email.trim());
        const domain = m && m[1] !== '' ? m[1].toLowerCase() : null;
        const d = want.get(domain) ?? { contacts: new Set(), primary: new Set(), optedIn: new Set(), emails: 0 };
        d.contacts.add(c.id);
        if (e.field === 'EMAIL1') d.primary.add(c.id);
        if (e.is_opt_in) d.optedIn.add(c.id);
        d.emails++;
        want.set(domain, d);
      }
    }
    const rows = await db.sql`
      select domain, contact_count, primary_contact_count, opted_in_contact_count, email_count, contact_share_pct::float8 as pct
        from keap_ops.contact_email_domains order by domain nulls last`;
    const byDomain = (a: { domain: string | null }, b: { domain: string | null }) => (a.domain === b.domain ? 0 : a.domain === null ? 1 : b.domain === null ? -1 : a.domain < b.domain ? -1 : 1);
    expect(rows.map((r) => ({ domain: r.domain, contacts: Number(r.contact_count), primary: Number(r.primary_contact_count), optedIn: Number(r.opted_in_contact_count), emails: Number(r.email_count) })).sort(byDomain)).toEqual(
      [...want.entries()].map(([domain, d]) => ({ domain, contacts: d.contacts.size, primary: d.primary.size, optedIn: d.optedIn.size, emails: d.emails })).sort(byDomain),
    );
    for (const r of rows) expect(r.pct).toBeCloseTo((100 * Number(r.contact_count)) / contacts.length, 2);
    expect(rows.length).toBeGreaterThan(1);
  });
});
