// Encryption at rest of stored OAuth tokens: AES-256-GCM with a 12-byte random iv per value, the
// 16-byte tag stored beside it, and the row's client id and column name as additional
// authenticated data (a value copied into another row or column does not decrypt). The key is
// derived from KEAP_TOKEN_KEY with scrypt (a passphrase is fine), once per process. A fingerprint
// of the key (HMAC prefix, reveals nothing) is stored with the row so a wrong key is reported as
// such instead of as a corrupt token.
import { createCipheriv, createDecipheriv, createHmac, randomBytes, scryptSync } from 'node:crypto';

const SALT = 'keap-sync/oauth-token-store/v1';
const derived = new Map<string, Buffer>();

export interface Sealed {
  data: Buffer;
  iv: Buffer;
  tag: Buffer;
}

export class TokenCipher {
  private readonly key: Buffer;
  /** Fingerprint of the key, stored in keap_meta.oauth_tokens.key_check. */
  readonly keyCheck: string;

  constructor(passphrase: string) {
    let key = derived.get(passphrase);
    if (!key) {
      key = scryptSync(passphrase, SALT, 32, { N: 16384, r: 8, p: 1 });
      derived.set(passphrase, key);
    }
    this.key = key;
    this.keyCheck = createHmac('sha256', key).update('keap-sync key check v1').digest('hex').slice(0, 16);
  }

  seal(plain: string, aad: string): Sealed {
    const iv = randomBytes(12);
    const c = createCipheriv('aes-256-gcm', this.key, iv);
    c.setAAD(Buffer.from(aad, 'utf8'));
    const data = Buffer.concat([c.update(plain, 'utf8'), c.final()]);
    return { data, iv, tag: c.getAuthTag() };
  }

  /** Throws (without any token in the message) when the key, iv, tag or aad do not match. */
  open(s: Sealed, aad: string): string {
    const d = createDecipheriv('aes-256-gcm', this.key, s.iv);
    d.setAAD(Buffer.from(aad, 'utf8'));
    d.setAuthTag(s.tag);
    return Buffer.concat([d.update(s.data), d.final()]).toString('utf8');
  }
}
