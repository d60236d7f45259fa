// Keeps keys and tokens out of every string that leaves the HTTP layer: error messages, request-log
// error text, event messages. Known secret values (the API key, client secret, refresh and access
// tokens, including rotated ones) are replaced wherever they appear, and so are the shapes a
// secret travels in (Authorization headers, token fields in bodies or query strings) even when the
// value is not known to us.
export const REDACTED = '[redacted]';

const PATTERNS: [RegExp, string][] = [
  [/\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]+/gi, `$1 ${REDACTED}`],
  // Not inside a longer word: Keap's own "oauth.v2.InvalidApiKey: Invalid ApiKey" is no secret.
  [/((?<![A-Za-z0-9_-])"?(?:access_token|refresh_token|client_secret|api_?key|x-keap-api-key|password)"?\s*[:=]\s*"?)[^"&\s,}]+/gi, `$1${REDACTED}`],
];

export class Redactor {
  private readonly secrets = new Set<string>();

  /** Remembers a secret value (ignored when empty or too short to be one). */
  add(value: string | undefined | null): void {
    if (value && value.length >= 6) this.secrets.add(value);
  }

  scrub(text: string): string {
    let out = text;
    // Longest first, so a secret containing another is replaced whole.
    for (const s of [...this.secrets].sort((a, b) => b.length - a.length)) {
      if (out.includes(s)) out = out.split(s).join(REDACTED);
    }
    for (const [re, rep] of PATTERNS) out = out.replace(re, rep);
    return out;
  }
}
