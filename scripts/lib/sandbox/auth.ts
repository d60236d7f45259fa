// Credentials the sandbox accepts, mirroring Keap: PAT/SAK keys (X-Keap-API-Key, or as a Bearer
// token like the official SDK samples send them) and OAuth2 access tokens issued by `POST /token`
// with the refresh_token grant. Each refresh rotates the refresh token and the previous one is
// dead from then on (400 invalid_grant), which is the race real integrations trip over.
// Failures use the Apigee fault envelope the gateway returns before the API is reached.
// The first token pair comes from the authorization-code flow, as on Keap: a consent page at
// /app/oauth/authorize redirects to the app's redirect_uri with a single-use code (10 minutes,
// bound to that redirect_uri), which `POST /token` with grant_type=authorization_code exchanges.
import { randomBytes } from 'node:crypto';

export interface OAuthConfig {
  clientId: string;
  clientSecret: string;
  refreshToken: string;
  accessTokenTtlSeconds?: number;
}

export type Principal = { kind: 'key'; bucket: string } | { kind: 'oauth'; bucket: string };

export interface AuthFailure {
  status: 401;
  body: unknown;
}

export interface TokenResult {
  status: number;
  body: unknown;
  refreshed: boolean;
  invalidGrant: boolean;
}

function fault(faultstring: string, errorcode: string): unknown {
  return { fault: { faultstring, detail: { errorcode } } };
}

export class AuthManager {
  private keys: Set<string>;
  private oauth: Required<OAuthConfig>;
  private refreshToken: string;
  private refreshSeq = 0;
  private readonly access = new Map<string, number>();
  private readonly codes = new Map<string, { redirectUri: string; expiresAt: number }>();

  constructor(
    apiKeys: string[],
    oauth: OAuthConfig,
    private readonly nowMs: () => number,
    readonly scope: string,
  ) {
    this.keys = new Set(apiKeys);
    this.oauth = { accessTokenTtlSeconds: 86400, ...oauth };
    this.refreshToken = oauth.refreshToken;
  }

  currentRefreshToken(): string {
    return this.refreshToken;
  }

  authenticate(headers: Record<string, string | string[] | undefined>): Principal | AuthFailure {
    const apiKey = headers['x-keap-api-key'];
    if (typeof apiKey === 'string' && apiKey !== '') {
      if (this.keys.has(apiKey)) return { kind: 'key', bucket: `key:${apiKey}` };
      return { status: 401, body: fault('Invalid ApiKey', 'oauth.v2.InvalidApiKey') };
    }
    const authz = headers.authorization;
    const m = typeof authz === 'string' ? /^Bearer\s+(\S+)\s*$/i.exec(authz) : null;
    if (!m) return { status: 401, body: fault('Invalid access token', 'oauth.v2.InvalidAccessToken') };
    const token = m[1] as string;
    if (this.keys.has(token)) return { kind: 'key', bucket: `key:${token}` };
    const exp = this.access.get(token);
    if (exp === undefined) return { status: 401, body: fault('Invalid access token', 'oauth.v2.InvalidAccessToken') };
    if (this.nowMs() >= exp) return { status: 401, body: fault('Access Token expired', 'keymanagement.service.access_token_expired') };
    // OAuth quota is counted per developer app (client id), across all of its tokens.
    return { kind: 'oauth', bucket: `oauth:${this.oauth.clientId}` };
  }

  get clientId(): string {
    return this.oauth.clientId;
  }

  /** Checks an authorize request (GET or the consent form's POST): what is wrong with it, if anything. */
  checkAuthorize(q: URLSearchParams): string | null {
    if (q.get('client_id') !== this.oauth.clientId) return `unknown client_id '${q.get('client_id') ?? ''}'`;
    if (q.get('response_type') !== 'code') return "response_type must be 'code'";
    const redirect = q.get('redirect_uri');
    if (!redirect) return 'redirect_uri is required';
    try {
      new URL(redirect);
    } catch {
      return 'redirect_uri must be an absolute URL';
    }
    return null;
  }

  /** The user approved: a single-use code for the redirect URI, valid 10 minutes. */
  issueCode(redirectUri: string): string {
    const code = `sbx-code-${randomBytes(12).toString('hex')}`;
    this.codes.set(code, { redirectUri, expiresAt: this.nowMs() + 600_000 });
    return code;
  }

  /** Handles `POST /token` (form-encoded body already parsed). */
  token(authorization: string | undefined, form: URLSearchParams): TokenResult {
    const fail = (status: number, error: string, description: string, invalidGrant = false): TokenResult => ({
      status,
      body: { error, error_description: description },
      refreshed: false,
      invalidGrant,
    });
    let clientId = form.get('client_id');
    let clientSecret = form.get('client_secret');
    const basic = authorization ? /^Basic\s+(\S+)$/i.exec(authorization) : null;
    if (basic) {
      const decoded = Buffer.from(basic[1] as string, 'base64').toString('utf8');
      const colon = decoded.indexOf(':');
      if (colon < 0) return fail(401, 'invalid_client', 'Malformed Basic client credentials');
      clientId = decodeURIComponent(decoded.slice(0, colon));
      clientSecret = decodeURIComponent(decoded.slice(colon + 1));
    }
    if (!clientId || !clientSecret) return fail(401, 'invalid_client', 'Client authentication required (HTTP Basic with client_id:client_secret)');
    if (clientId !== this.oauth.clientId || clientSecret !== this.oauth.clientSecret) return fail(401, 'invalid_client', 'Invalid client credentials');
    const grant = form.get('grant_type');
    if (!grant) return fail(400, 'invalid_request', 'Missing grant_type');
    if (grant === 'authorization_code') {
      const code = form.get('code');
      const issued = code ? this.codes.get(code) : undefined;
      if (code) this.codes.delete(code); // single use, even when the rest is wrong
      if (!issued || this.nowMs() >= issued.expiresAt) return fail(400, 'invalid_grant', 'Invalid authorization code', true);
      if (form.get('redirect_uri') !== issued.redirectUri) return fail(400, 'invalid_grant', 'redirect_uri does not match the authorization request', true);
    } else if (grant === 'refresh_token') {
      const presented = form.get('refresh_token');
      if (!presented) return fail(400, 'invalid_request', 'Missing refresh_token');
      if (presented !== this.refreshToken) return fail(400, 'invalid_grant', 'Invalid refresh token', true);
    } else {
      return fail(400, 'unsupported_grant_type', `Unsupported grant_type '${grant}'`);
    }
    this.refreshSeq++;
    const accessToken = `sbx-at-${this.refreshSeq}-${randomBytes(12).toString('hex')}`;
    this.refreshToken = `sbx-rt-${this.refreshSeq}-${randomBytes(12).toString('hex')}`;
    const ttl = this.oauth.accessTokenTtlSeconds;
    this.access.set(accessToken, this.nowMs() + ttl * 1000);
    return {
      status: 200,
      body: { access_token: accessToken, token_type: 'bearer', expires_in: ttl, refresh_token: this.refreshToken, scope: this.scope },
      refreshed: true,
      invalidGrant: false,
    };
  }
}
