// Table-sync tests use two real databases on the test server: the warehouse (a clone of the
// migrated template, test/helpers/db.ts) and an empty "app" database standing in for the source.
import { randomBytes } from 'node:crypto';
import postgres from 'postgres';
import { adminUrl } from '../helpers/db.ts';

export interface SourceDb {
  url: string;
  name: string;
  sql: postgres.Sql;
  drop(): Promise<void>;
}

export function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}

export function withUser(url: string, user: string, password: string): string {
  const u = new URL(url);
  u.username = user;
  u.password = password;
  return u.toString();
}

export async function createSourceDatabase(label: string): Promise<SourceDb> {
  const name = `keap_test_src_${label.replace(/[^a-z0-9]/gi, '_').toLowerCase().slice(0, 24)}_${randomBytes(4).toString('hex')}`;
  const admin = postgres(adminUrl(), { max: 1, onnotice: () => {} });
  try {
    await admin.unsafe(`create database ${name}`);
  } finally {
    await admin.end({ timeout: 5 });
  }
  const url = withDatabase(adminUrl(), name);
  const sql = postgres(url, { max: 2, onnotice: () => {} });
  return {
    url,
    name,
    sql,
    drop: async () => {
      await sql.end({ timeout: 5 });
      if (process.env.KEEP_TEST_DB) return console.log(`[test] kept source database ${name}: ${url}`);
      const a = postgres(adminUrl(), { max: 1, onnotice: () => {} });
      await a.unsafe(`drop database if exists ${name} with (force)`).finally(() => a.end({ timeout: 5 }));
    },
  };
}

/** The ORM-style user table of the app database (extra columns the athletes sync must ignore). */
export async function createUserTable(sql: postgres.Sql, opts: { onlyUuidAndName?: boolean } = {}): Promise<void> {
  await sql.unsafe(
    opts.onlyUuidAndName
      ? 'create table public."User" (uuid uuid primary key, name text)'
      : `create table public."User" (uuid uuid primary key, name text, email text unique,
           "createdAt" timestamp(3) not null default now(), "updatedAt" timestamp(3) not null default now())`,
  );
}

/** Random password made at run time: no password is written in any file. */
export function runtimePassword(): string {
  return randomBytes(18).toString('base64url');
}
