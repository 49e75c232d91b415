import { createCipheriv, createDecipheriv, createHmac, randomBytes } from 'node:crypto';

const PREFIX = 'enc:v1';

/**
 * Encrypts secrets at rest (AES-256-GCM) with keys from the environment. The first key encrypts;
 * every key listed decrypts, so a key is rotated by putting a new one first, re-encrypting
 * (`reencrypt`), then dropping the old one. A stored value names the key it was encrypted with:
 * `enc:v1:<key id>:<iv>:<tag>:<ciphertext>` (base64url).
 */
export class SecretBox {
  private readonly keys: Map<string, Buffer>;
  readonly currentKeyId: string;

  constructor(keys: { id: string; key: Buffer }[]) {
    if (keys.length === 0) throw new Error('SecretBox needs at least one key');
    for (const { id, key } of keys) {
      if (key.length !== 32) throw new Error(`encryption key '${id}' must be 32 bytes`);
      if (!/^[\w-]+$/.test(id)) throw new Error(`encryption key id '${id}' must be letters, digits, _ or -`);
    }
    this.keys = new Map(keys.map(({ id, key }) => [id, key]));
    this.currentKeyId = keys[0]!.id;
  }

  /** `id:base64key,id2:base64key2`, the form SECRETS_ENCRYPTION_KEYS takes. */
  static parse(text: string): SecretBox {
    return new SecretBox(
      text
        .split(',')
        .map((entry) => entry.trim())
        .filter(Boolean)
        .map((entry) => {
          const [id, key] = entry.split(':');
          if (!id || !key) throw new Error(`expected <key id>:<base64 key>, got '${entry.slice(0, 8)}…'`);
          return { id, key: Buffer.from(key, 'base64') };
        }),
    );
  }

  encrypt(plaintext: string): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.keys.get(this.currentKeyId)!, iv);
    const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    return [PREFIX, this.currentKeyId, iv, cipher.getAuthTag(), ciphertext]
      .map((part) => (Buffer.isBuffer(part) ? part.toString('base64url') : part))
      .join(':');
  }

  /** A value stored before encryption existed (no prefix) is returned as it is. */
  decrypt(stored: string): string {
    if (!stored.startsWith(`${PREFIX}:`)) return stored;
    const [, , keyId, iv, tag, ciphertext] = stored.split(':');
    const key = this.keys.get(keyId!);
    if (!key) throw new Error(`secret encrypted with key '${keyId}', which is not among SECRETS_ENCRYPTION_KEYS`);
    const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(iv!, 'base64url'));
    decipher.setAuthTag(Buffer.from(tag!, 'base64url'));
    return Buffer.concat([decipher.update(Buffer.from(ciphertext!, 'base64url')), decipher.final()]).toString('utf8');
  }

  /**
   * A key for another purpose (signing links) derived from each key, the current one first: sign
   * with the first, accept any, and a rotation of the encryption keys keeps older signatures valid
   * for as long as their key is listed.
   */
  deriveKeys(purpose: string): Buffer[] {
    return this.deriveKeyring(purpose).map(({ key }) => key);
  }

  /** `deriveKeys` with the id of the key each one derives from (what a stored HMAC was made with). */
  deriveKeyring(purpose: string): { id: string; key: Buffer }[] {
    const ordered = [this.currentKeyId, ...[...this.keys.keys()].filter((id) => id !== this.currentKeyId)];
    return ordered.map((id) => ({ id, key: createHmac('sha256', this.keys.get(id)!).update(`derived:${purpose}`).digest() }));
  }

  /** How every value encrypted with the current key starts: anything else is re-encrypted. */
  get currentPrefix(): string {
    return `${PREFIX}:${this.currentKeyId}:`;
  }
}
