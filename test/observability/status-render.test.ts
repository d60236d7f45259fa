// The pure side of `npm run status`: folding channel payloads into the screen state, the progress
// bar and the plain event lines (the database side is in live.test.ts).
import { describe, expect, it } from 'vitest';
import { applyPayload, eventLine, parsePayload, progressBar, type RunEventPayload, type StatusState } from '../../scripts/lib/status.ts';

function payload(p: Partial<RunEventPayload>): RunEventPayload {
  return {
    v: 1, kind: 'log', run_id: 7, pipeline: 'keap', status: 'running', at: '2026-12-02T04:00:00.000Z', entity: null, stage: null,
    level: null, message: null, event_id: null, progress: null, data: {}, ...p,
  };
}

function emptyState(): StatusState {
  return { running: new Map(), lastRuns: [], freshness: [], entities: ['tags', 'contacts'], loadedAt: new Date() };
}

describe('status rendering', () => {
  it('fills the bar against the last count, and shows an indeterminate marker without one or past it', () => {
    expect(progressBar({ records: 50, expected_records: 200 }, 8)).toBe('[##......]  25%');
    expect(progressBar({ records: 300, expected_records: 200, pages: 3 }, 8)).toBe('[...#....]  ...');
    expect(progressBar({ records: 10, pages: 0 }, 8)).toBe('[#.......]  ...');
  });

  it('folds a run from start to end: progress replaces progress, run_done removes the run and asks for a reload', () => {
    const s = emptyState();
    expect(applyPayload(s, payload({ kind: 'run_started', message: 'run started' }))).toBe(true);
    applyPayload(s, payload({ kind: 'entity_started', entity: 'contacts', message: 'contacts: full', data: { traversal: 'full' } }));
    expect(s.running.get(7)!.progress).toEqual({ entity: 'contacts', traversal: 'full', pages: 0, records: 0 });
    applyPayload(s, payload({ kind: 'progress', progress: { entity: 'contacts', traversal: 'full', pages: 2, records: 200, quota_available: 99 } }));
    expect(s.running.get(7)!.progress.records).toBe(200);
    expect(s.running.get(7)!.last_message).toBe('contacts: full');
    expect(applyPayload(s, payload({ kind: 'entity_done', entity: 'contacts', data: { pages: 3, records: 250 } }))).toBe(true);
    expect(s.running.get(7)!.progress).toMatchObject({ pages: 3, records: 250 });
    expect(applyPayload(s, payload({ kind: 'run_done', status: 'succeeded' }))).toBe(true);
    expect(s.running.size).toBe(0);
  });

  it('prints one plain line per event and ignores payloads that are not ours', () => {
    expect(eventLine(payload({ kind: 'progress', progress: { entity: 'contacts', pages: 2, records: 200, expected_records: 400, records_per_second: 50, quota_available: 99 } })))
      .toBe('2026-12-02T04:00:00.000Z run 7 progress contacts pages=2 records=200/400 rate=50/s quota_left=99');
    expect(eventLine(payload({ kind: 'run_failed', status: 'failed', data: { request_count: 3, error_message: 'boom' } })))
      .toBe('2026-12-02T04:00:00.000Z run 7 run_failed failed: 3 requests, 0 records, +0 ~0 -0 !0 — boom');
    expect(eventLine(payload({ kind: 'log', entity: 'tags', level: 'warn', message: 'parent 9 gone' })))
      .toBe('2026-12-02T04:00:00.000Z run 7 log tags [warn]: parent 9 gone');
    expect(parsePayload('not json')).toBeNull();
    expect(parsePayload('{"kind": 1}')).toBeNull();
  });
});
