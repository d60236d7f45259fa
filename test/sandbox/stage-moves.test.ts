// The sandbox's GET /opportunities/stageMoves: the append-only history is consistent with the
// opportunities (each one's last move ends in its current stage), ids rise with create_time (what a
// newest-first read relies on), the documented filters and orders work, and moving or adding an
// opportunity appends a move while an update that keeps the stage does not.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSandbox, type Sandbox } from '../../scripts/lib/sandbox/index.ts';
import { api, pageAll, qs } from './helpers.ts';

let sb: Sandbox;
type Rec = Record<string, any>;

beforeAll(async () => {
  sb = await startSandbox({ contacts: 300, seed: 5, limits: { throttlePerMinute: 1e6, dailyQuota: 1e7 } });
});
afterAll(async () => {
  await sb?.close();
});

describe('opportunity stage moves', () => {
  it('every opportunity has its history, ending in its current stage; ids rise with create_time', async () => {
    const { records } = await pageAll(sb, '/opportunities/stageMoves', 'stage_moves', { page_size: 50 });
    const opps = [...sb.store.list('opportunities')] as Rec[];
    expect(records.length).toBe(2 * opps.length);
    for (const o of opps) {
      const mine = records.filter((m) => m.opportunity_id === o.id);
      expect(mine[0].move_from_stage_id).toBe('0');
      expect(mine[mine.length - 1].move_to_stage_id).toBe(o.stage.id);
      expect(mine[1].move_from_stage_id).toBe(mine[0].move_to_stage_id);
      expect(mine[1].prev_stage_move_time).toBe(mine[0].move_time);
    }
    for (let i = 1; i < records.length; i++) {
      expect(Number(records[i].id)).toBeGreaterThan(Number(records[i - 1].id));
      expect(Date.parse(records[i].create_time)).toBeGreaterThanOrEqual(Date.parse(records[i - 1].create_time));
    }
  });

  it('filters opportunity_id== and user_id==, orders by id or move_date both ways; other fields are 400', async () => {
    const all = (await pageAll(sb, '/opportunities/stageMoves', 'stage_moves', { page_size: 1000 })).records;
    const one = all[7];
    const byOpp = (await api(sb, `/opportunities/stageMoves${qs({ filter: `opportunity_id==${one.opportunity_id}` })}`)).body.stage_moves;
    expect(byOpp.map((m: Rec) => m.id)).toEqual(all.filter((m) => m.opportunity_id === one.opportunity_id).map((m) => m.id));
    const byUser = (await pageAll(sb, '/opportunities/stageMoves', 'stage_moves', { filter: `user_id==${one.user_id}`, page_size: 1000 })).records;
    expect(byUser.length).toBe(all.filter((m) => m.user_id === one.user_id).length);
    const desc = (await pageAll(sb, '/opportunities/stageMoves', 'stage_moves', { order_by: 'id desc', page_size: 33 })).records;
    expect(desc.map((m) => m.id)).toEqual([...all].reverse().map((m) => m.id));
    const byDate = (await pageAll(sb, '/opportunities/stageMoves', 'stage_moves', { order_by: 'move_date desc', page_size: 33 })).records;
    expect(byDate.map((m) => Date.parse(m.move_time))).toEqual([...byDate].map((m) => Date.parse(m.move_time)).sort((a, b) => b - a));
    expect((await api(sb, `/opportunities/stageMoves${qs({ filter: 'id>5' })}`)).status).toBe(400);
    expect((await api(sb, `/opportunities/stageMoves${qs({ filter: 'since_time==2026-01-01T00:00:00.000Z' })}`)).status).toBe(400);
    expect((await api(sb, `/opportunities/stageMoves${qs({ order_by: 'create_time asc' })}`)).status).toBe(400);
  });

  it('a stage change or a new opportunity appends a move; other updates do not', async () => {
    const before = sb.store.count('stage_moves');
    const opp = [...sb.store.list('opportunities')][3] as Rec;
    sb.store.update('opportunities', opp.id, { opportunity_title: 'Same stage' });
    expect(sb.store.count('stage_moves')).toBe(before);
    const to = opp.stage.id === '2' ? '3' : '2';
    sb.store.update('opportunities', opp.id, { stage: { id: to, name: 'Moved', reasons: [] } });
    const added = sb.store.add('opportunities', { stage: { id: '1', name: 'New Lead', reasons: [] }, user: { id: '3' } });
    expect(sb.store.count('stage_moves')).toBe(before + 2);
    const newest = (await api(sb, `/opportunities/stageMoves${qs({ order_by: 'id desc', page_size: 2 })}`)).body.stage_moves;
    expect(newest[0]).toMatchObject({ opportunity_id: added.id, move_from_stage_id: '0', move_to_stage_id: '1', user_id: '3' });
    expect(newest[0].prev_stage_move_time).toBeUndefined();
    expect(newest[1]).toMatchObject({ opportunity_id: opp.id, move_from_stage_id: opp.stage.id, move_to_stage_id: to });
    expect(Date.parse(newest[1].prev_stage_move_time)).toBeLessThan(Date.parse(newest[1].move_time));
  });
});
