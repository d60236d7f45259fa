// Opportunity stage moves in the sandbox: GET /rest/v2/opportunities/stageMoves, the append-only
// history of opportunities moving between pipeline stages (schema OpportunityStageMove).
//
// Generated base: two moves per generated opportunity, consistent with its current stage (the first
// move enters the pipeline from stage "0", the second ends in the stage the opportunity is in now).
// Ids and create_time rise together (Keap records moves as they happen), which is what a client's
// newest-first read (order_by id desc, stop below a time) relies on. Moving an opportunity to
// another stage through the store, or adding one, appends a move (store.ts calls recordStageMove).
//
// Served as the spec documents it: filters opportunity_id== and user_id== only (no time or id
// filter), order_by id or move_date, asc or desc; no order_by means id asc; the last page omits
// next_page_token.
import type { ListEndpoint } from './endpoints.ts';
import type { Rec, TenantGenerator } from './generate.ts';
import { refEquals } from './query.ts';
import type { SandboxStore } from './store.ts';
import { iso } from './util.ts';
import { timeKey } from './collection.ts';

export const STAGE_MOVES_PER_OPPORTUNITY = 2;

/** Base stage move k: move j (0 or 1) of generated opportunity k / 2. */
export function stageMove(gen: TenantGenerator, k: number): Rec {
  const ok = Math.floor(k / STAGE_MOVES_PER_OPPORTUNITY);
  const j = k % STAGE_MOVES_PER_OPPORTUNITY;
  // The generator puts opportunity ok in stage index ok % (number of stages).
  const stages = Math.max(1, gen.count('stages'));
  const current = ok % stages;
  // Into the pipeline at the first stage, then on to the current one (a stage-1 opportunity came back from stage 2).
  const entered = current === 0 && stages > 1 ? 1 : 0;
  const stageId = (i: number) => String(gen.id('stages', i));
  const user = gen.userIdCache.length > 0 ? (gen.userIdCache[ok % gen.userIdCache.length] as string) : '1';
  const at = gen.createMs('stage_moves', k);
  const m: Rec = {
    id: String(gen.id('stage_moves', k)),
    opportunity_id: String(gen.id('opportunities', ok)),
    move_time: iso(at),
    move_from_stage_id: j === 0 ? '0' : stageId(entered),
    move_to_stage_id: j === 0 ? stageId(entered) : stageId(current),
  };
  if (j > 0) m.prev_stage_move_time = iso(gen.createMs('stage_moves', k - 1));
  else if (gen.shape.nulls) m.prev_stage_move_time = null;
  m.user_id = user;
  m.created_by = user;
  m.create_time = iso(at);
  return m;
}

/** The newest move of an opportunity now held by the store (its time), or undefined. */
function lastMoveTime(store: SandboxStore, opportunityId: number): string | undefined {
  const col = store.collection('stage_moves');
  let best: Rec | undefined;
  for (const rec of col.overrides.values()) {
    if (Number(rec.opportunity_id) === opportunityId && (!best || timeKey(rec.move_time) >= timeKey(best.move_time))) best = rec;
  }
  if (best) return best.move_time as string;
  const ok = store.collection('opportunities').kOf(opportunityId);
  if (ok < 0) return undefined;
  const last = store.get('stage_moves', store.gen.id('stage_moves', ok * STAGE_MOVES_PER_OPPORTUNITY + STAGE_MOVES_PER_OPPORTUNITY - 1));
  return last?.move_time as string | undefined;
}

/**
 * Appends the move Keap records when an opportunity enters a stage: called by the store after an
 * opportunity is added, or updated with another stage. `before` is the opportunity as it was (undefined when new).
 */
export function recordStageMove(store: SandboxStore, before: Rec | undefined, after: Rec): void {
  const from = before ? String((before.stage as Rec | undefined)?.id ?? '0') : '0';
  const to = String((after.stage as Rec | undefined)?.id ?? '0');
  if (before && from === to) return;
  const opportunityId = Number(after.id);
  const previous = before ? lastMoveTime(store, opportunityId) : undefined;
  const user = String((after.user as Rec | undefined)?.id ?? after.last_updated_by ?? '1');
  // The move happens now; Keap records it (create_time) at once.
  const move: Rec = { opportunity_id: String(opportunityId), move_time: iso(store.stampMs()), move_from_stage_id: from, move_to_stage_id: to };
  if (previous !== undefined) move.prev_stage_move_time = previous;
  move.user_id = user;
  move.created_by = user;
  store.add('stage_moves', move);
}

export function stageMovesEndpoint(store: SandboxStore): ListEndpoint {
  const col = store.collection('stage_moves');
  return {
    route: '/opportunities/stageMoves',
    pattern: /^\/opportunities\/stageMoves$/,
    entity: 'stage_moves',
    wrapper: 'stage_moves',
    maxPageSize: 1000,
    // move_date: the move_time of the record (base moves: their create time, without generating them).
    sorts: {
      id: () => col.idSort,
      move_date: () => ({ name: 'move_date', kind: 'number', key: (r) => timeKey(r.move_time), baseKey: (k) => store.gen.createMs('stage_moves', k) }),
    },
    defaultOrder: 'id asc',
    filters: {
      opportunity_id: refEquals((r) => r.opportunity_id),
      user_id: refEquals((r) => r.user_id),
    },
    endToken: 'omit',
  };
}
