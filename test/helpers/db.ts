// Per-file test database: a clone of the migrated template (create database ... template ...).
// KEEP_TEST_DB=1 keeps it (and prints its URL) so a failed file can be inspected with psql.
import { randomBytes } from 'node:crypto';
import postgres from 'postgres';
import { inject } from 'vitest';
import { connect, type Db } from '../../scripts/lib/db.ts';

export interface TestDb extends Db {
  url: string;
  name: string;
  drop(): Promise<void>;
}

function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}

export function adminUrl(): string {
  return inject('pgAdminUrl');
}

export async function createTestDatabase(label = 'file'): Promise<TestDb> {
  const name = `keap_test_${label.replace(/[^a-z0-9]/gi, '_').toLowerCase().slice(0, 30)}_${randomBytes(4).toString('hex')}`;
  const admin = postgres(adminUrl(), { max: 1, onnotice: () => {} });
  try {
    for (let attempt = 1; ; attempt++) {
      try {
        await admin.unsafe(`create database ${name} template ${inject('templateDb')}`);
        break;
      } catch (err) {
        // 55006: the template is briefly in use by a concurrent clone.
        if ((err as { code?: string }).code !== '55006' || attempt >= 20) throw err;
        await new Promise((r) => setTimeout(r, 100 * attempt));
      }
    }
  } finally {
    await admin.end({ timeout: 5 });
  }
  const url = withDatabase(adminUrl(), name);
  const db = await connect({ applicationName: `keap-test ${label}`, url, max: 6 });
  return {
    ...db,
    url,
    name,
    drop: async () => {
      await db.close();
      if (process.env.KEEP_TEST_DB) {
        console.log(`[test] kept database ${name}: ${url}`);
        return;
      }
      const a = postgres(adminUrl(), { max: 1, onnotice: () => {} });
      await a.unsafe(`drop database if exists ${name} with (force)`).finally(() => a.end({ timeout: 5 }));
    },
  };
}
