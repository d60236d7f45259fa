// Exit codes and error classification shared by every script (documented in the README).
// Branch only on named SQLSTATE constants, never on message text.
import postgres from 'postgres';

export const EXIT = {
  OK: 0,
  CONFIG: 1,
  DB_CONNECTION: 2,
  SQL: 3,
  KEAP_API: 4,
  RUN_IN_PROGRESS: 5,
  QUOTA_RESERVE: 6,
  CANCELLED: 130,
} as const;

/** Our own SQLSTATEs, raised by sql/transforms/001-run-tracking.sql. */
export const SQLSTATE = {
  RUN_IN_PROGRESS: 'KR001',
  RUN_NOT_RUNNING: 'KR002',
  RUN_UNKNOWN: 'KR003',
  INVALID_ARGUMENT: 'KR004',
  UNIQUE_VIOLATION: '23505',
} as const;

/** SQLSTATE classes that mean the server or the network went away. */
const CONNECTION_CLASSES = ['08', '57P01', '57P02', '57P03', '53300'];

export function isPostgresError(err: unknown): err is postgres.PostgresError {
  return err instanceof postgres.PostgresError || (typeof err === 'object' && err !== null && (err as { name?: string }).name === 'PostgresError');
}

export function sqlstateOf(err: unknown): string | undefined {
  if (isPostgresError(err)) return err.code;
  const code = (err as { code?: unknown })?.code;
  return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) ? code : undefined;
}

export function isConnectionError(err: unknown): boolean {
  const code = (err as { code?: unknown })?.code;
  if (typeof code === 'string' && ['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'CONNECTION_CLOSED', 'CONNECTION_ENDED', 'CONNECTION_DESTROYED', 'CONNECT_TIMEOUT', 'EPIPE'].includes(code)) return true;
  const state = sqlstateOf(err);
  return !!state && CONNECTION_CLASSES.some((c) => state.startsWith(c));
}

export function exitCodeFor(err: unknown): number {
  const explicit = (err as { exitCode?: unknown })?.exitCode;
  if (typeof explicit === 'number') return explicit;
  if (sqlstateOf(err) === SQLSTATE.RUN_IN_PROGRESS) return EXIT.RUN_IN_PROGRESS;
  if (isConnectionError(err)) return EXIT.DB_CONNECTION;
  if (isPostgresError(err)) return EXIT.SQL;
  return EXIT.SQL;
}

/** One line for a human: message, plus SQLSTATE, detail and hint for database errors. */
export function describeError(err: unknown): string {
  if (isPostgresError(err)) {
    const parts = [`${err.message} [SQLSTATE ${err.code}]`];
    if (err.detail) parts.push(`detail: ${err.detail}`);
    if (err.hint) parts.push(`hint: ${err.hint}`);
    return parts.join('; ');
  }
  if (err instanceof Error) return err.message;
  return String(err);
}

/**
 * The run boundary of a script: runs `main` and exits with the code it returns; an error is printed
 * as "<name> failed: …" and exits with its documented code (exitCodeFor).
 */
export function runScript(name: string, main: () => Promise<number>): void {
  main().then(
    (code) => process.exit(code),
    (err: unknown) => {
      console.error(`${name} failed: ${describeError(err)}`);
      process.exit(exitCodeFor(err));
    },
  );
}
