// Benchmark: a 1,000,000-contact Keap sandbox tenant paged end to end over HTTP at page_size 1000
// (following next_page_token, with the fields a sync asks for). Reports start-up time, records/s
// and peak RSS, and fails unless every contact id is seen exactly once; then changes 1,000
// contacts and checks an update-time window returns exactly those. Env: BENCH_CONTACTS to change
// the size, BENCH_FIELDS to change the requested fields.
import { startSandbox } from '../scripts/lib/sandbox/index.ts';

const CONTACTS = Number(process.env.BENCH_CONTACTS ?? 1_000_000);
const FIELDS = process.env.BENCH_FIELDS ?? 'id,given_name,middle_name,family_name,email_addresses,phone_numbers,addresses,company,owner_id,custom_fields,tag_ids,create_time,update_time';
const UNLIMITED = { throttlePerMinute: 1e9, dailyQuota: 1e9, tenantPerMinute: 1e9, tenantPerDay: 1e9 };

function rssMb(): number {
  return Math.round(process.resourceUsage().maxRSS / 1024);
}

async function main(): Promise<void> {
  const t0 = performance.now();
  const sb = await startSandbox({ contacts: CONTACTS, seed: 1, limits: UNLIMITED });
  const startupMs = performance.now() - t0;
  const expected = sb.store.count('contacts');
  console.log(`started ${expected} contacts in ${startupMs.toFixed(0)} ms at ${sb.url} (peak RSS so far ${rssMb()} MB)`);

  const maxId = 2 * CONTACTS + 2;
  const seen = new Uint8Array(maxId + 1);
  let records = 0;
  let duplicates = 0;
  let pages = 0;
  let bytes = 0;
  let token = '';
  const t1 = performance.now();
  try {
    for (;;) {
      const url = `${sb.url}/rest/v2/contacts?page_size=1000&order_by=id%20asc&fields=${FIELDS}${token ? `&page_token=${token}` : ''}`;
      const res = await fetch(url, { headers: { 'X-Keap-API-Key': 'sandbox-api-key' } });
      const text = await res.text();
      if (res.status !== 200) throw new Error(`page ${pages}: HTTP ${res.status} ${text.slice(0, 300)}`);
      bytes += text.length;
      const body = JSON.parse(text) as { contacts: Array<{ id: string }>; next_page_token?: string };
      pages++;
      for (const c of body.contacts) {
        const id = Number(c.id);
        if (!(id > 0 && id <= maxId)) throw new Error(`unexpected id ${c.id}`);
        if (seen[id]) duplicates++;
        seen[id] = 1;
        records++;
      }
      if (pages % 100 === 0) {
        const s = (performance.now() - t1) / 1000;
        console.log(`  ${records} records, ${pages} pages, ${(records / s).toFixed(0)} records/s, peak RSS ${rssMb()} MB`);
      }
      token = body.next_page_token ?? '';
      if (!token) break;
    }
  } catch (e) {
    await sb.close();
    throw e;
  }
  const seconds = (performance.now() - t1) / 1000;

  // Incremental: change 1,000 contacts, then an update-time window must return exactly those,
  // without the server materialising the tenant (the time index is typed arrays).
  const watermark = new Date(Date.now() - 1).toISOString();
  const changed = new Set<string>();
  const contacts = sb.store.collection('contacts');
  const tagId = String(sb.store.list('tags').next().value?.id);
  for (let i = 0; changed.size < Math.min(1000, expected); i++) {
    // 7919 is prime to the tenant size, so these are distinct contacts spread over the id range.
    const id = String(contacts.idOf((i * 7919) % CONTACTS));
    if (i % 2 === 0) sb.store.updateContact(id, { job_title: `bench ${i}` });
    else if (sb.store.tagLinks(id).some((l) => l.tag_id === tagId)) sb.store.removeTag(id, tagId);
    else sb.store.applyTag(id, tagId);
    changed.add(id);
  }
  const t2 = performance.now();
  const incremental: string[] = [];
  token = '';
  try {
    for (;;) {
      const filter = encodeURIComponent(`start_update_time==${watermark}`);
      const url = `${sb.url}/rest/v2/contacts?page_size=1000&order_by=update_time%20asc&filter=${filter}&fields=id,update_time,tag_ids${token ? `&page_token=${token}` : ''}`;
      const res = await fetch(url, { headers: { 'X-Keap-API-Key': 'sandbox-api-key' } });
      const body = (await res.json()) as { contacts: Array<{ id: string }>; next_page_token?: string };
      if (res.status !== 200) throw new Error(`incremental: HTTP ${res.status} ${JSON.stringify(body)}`);
      incremental.push(...body.contacts.map((c) => c.id));
      token = body.next_page_token ?? '';
      if (!token) break;
    }
  } finally {
    await sb.close();
  }
  const incrementalMs = performance.now() - t2;
  const incrementalOk = incremental.length === changed.size && incremental.every((id) => changed.has(id));
  const distinct = seen.reduce((a, b) => a + b, 0);
  const result = {
    contacts: expected,
    startup_ms: Math.round(startupMs),
    paging_seconds: Number(seconds.toFixed(1)),
    pages,
    records_per_second: Math.round(records / seconds),
    mb_transferred: Math.round(bytes / 1e6),
    peak_rss_mb: rssMb(),
    duplicates,
    incremental_changed: changed.size,
    incremental_ms: Math.round(incrementalMs),
  };
  console.log(`paged ${records} records in ${seconds.toFixed(1)} s`);
  console.log(`BENCH_RESULT ${JSON.stringify(result)}`);
  if (duplicates !== 0 || distinct !== expected || records !== expected) {
    console.error(`FAIL: expected every one of ${expected} ids exactly once; saw ${records} records, ${distinct} distinct, ${duplicates} duplicates`);
    process.exit(1);
  }
  if (!incrementalOk) {
    console.error(`FAIL: the incremental window returned ${incremental.length} contacts; expected exactly the ${changed.size} changed ones`);
    process.exit(1);
  }
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
