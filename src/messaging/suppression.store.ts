import { Prisma, type Db, type DbTx } from '../db.js';
import type { Suppression } from '../generated/prisma/client.js';
import { newId } from '../lib/ids.js';
import { paginate, type Page } from '../lib/pagination.js';
import type { Scope } from '../lib/scope.js';
import type { Channel } from './message.schemas.js';
import type { ListSuppressionsQuery, SuppressionObject } from './suppression.schemas.js';

export type SuppressionSource = SuppressionObject['source'];

/** SQL expressions naming a tenant, a channel and an address: columns of a query or parameters. */
export interface AddressRef {
  merchantId: Prisma.Sql;
  environment: Prisma.Sql;
  /** The channel as text or as "MessageChannel". */
  channel: Prisma.Sql;
  /** The address as stored on the customer (email, or E.164 phone); NULL matches nothing. */
  address: Prisma.Sql;
}

interface HashKey {
  id: string;
  /** HMAC's inner and outer padded keys (RFC 2104, SHA-256's 64-byte block), hex. */
  inner: string;
  outer: string;
}

const BLOCK_BYTES = 64;

function hashKey({ id, key }: { id: string; key: Buffer }): HashKey {
  const padded = Buffer.alloc(BLOCK_BYTES);
  key.copy(padded);
  const xor = (byte: number) => Buffer.from(padded.map((b) => b ^ byte)).toString('hex');
  return { id, inner: xor(0x36), outer: xor(0x5c) };
}

/**
 * The suppressions table: addresses that opted out of a channel's marketing messages, per merchant
 * and environment, kept as HMAC-SHA256 of the normalised address (lower-cased; an E.164 number is
 * unchanged by it) so no plaintext address is kept and a row outlives the customer's erasure. The
 * HMAC is written out in SQL with sha256() so a statement can match a whole batch of customers;
 * the first key hashes new rows, every key is matched. The table's one writer.
 */
export class SuppressionStore {
  private readonly keys: HashKey[];

  constructor(
    private readonly db: Db,
    keys: { id: string; key: Buffer }[],
  ) {
    if (keys.length === 0) throw new Error('the suppression list needs a key');
    this.keys = keys.map(hashKey);
  }

  /** SQL: the hex HMAC of an address under one key. */
  private hash(address: Prisma.Sql, key: HashKey): Prisma.Sql {
    return Prisma.sql`encode(sha256(decode(${key.outer}, 'hex') || sha256(decode(${key.inner}, 'hex') || convert_to(lower(${address}), 'UTF8'))), 'hex')`;
  }

  /** SQL boolean: the address is on the tenant's list for the channel (under any key). */
  matches(ref: AddressRef): Prisma.Sql {
    return Prisma.sql`EXISTS (SELECT 1 FROM suppressions sup
      WHERE sup.merchant_id = ${ref.merchantId} AND sup.environment = ${ref.environment}
        AND sup.channel = (${ref.channel})::text::"MessageChannel"
        AND sup.address_hash IN (${Prisma.join(this.keys.map((key) => this.hash(ref.address, key)))}))`;
  }

  /** SQL boolean on a row `sup` of the list: it hashes this address under one of the keys (a customer's export). */
  hashesAddress(address: Prisma.Sql): Prisma.Sql {
    return Prisma.sql`sup.address_hash IN (${Prisma.join(this.keys.map((key) => this.hash(address, key)))})`;
  }

  /** Puts an address on the list (nothing for no address; repeating it adds nothing). */
  async suppress(tx: DbTx, scope: Scope, channel: Channel, address: string | null, source: SuppressionSource): Promise<void> {
    if (!address) return;
    const ref = this.ref(scope, channel, address);
    await tx.$executeRaw`
      INSERT INTO suppressions (id, merchant_id, environment, channel, address_hash, key_id, source)
      SELECT ${newId('suppression')}, ${scope.merchantId}, ${scope.environment}::"Environment", ${channel}::"MessageChannel",
        ${this.hash(ref.address, this.keys[0]!)}, ${this.keys[0]!.id}, ${source}
      WHERE NOT ${this.matches(ref)}
      ON CONFLICT (merchant_id, environment, channel, address_hash) DO NOTHING`;
  }

  /** Takes an address off the list (the person consented again); the rows removed. */
  async release(tx: DbTx, scope: Scope, channel: Channel, address: string | null): Promise<Suppression[]> {
    if (!address) return [];
    const hashes = await this.hashesOf(tx, address);
    const rows = await tx.suppression.findMany({ where: { merchantId: scope.merchantId, environment: scope.environment, channel, addressHash: { in: hashes } } });
    await tx.suppression.deleteMany({ where: { id: { in: rows.map((row) => row.id) } } });
    return rows;
  }

  /** The channels on which these addresses of a tenant are suppressed. */
  async suppressedChannels(scope: Scope, addresses: { email: string | null; phone: string | null }, db: Db | DbTx = this.db): Promise<Set<Channel>> {
    const [row] = await db.$queryRaw<{ email: boolean; sms: boolean }[]>`
      SELECT ${this.matches(this.ref(scope, 'email', addresses.email))} AS email, ${this.matches(this.ref(scope, 'sms', addresses.phone))} AS sms`;
    return new Set((['email', 'sms'] as const).filter((channel) => row![channel]));
  }

  /** One page of a tenant's list, by channel and (any key's hash of) an address. */
  async list<Out>(scope: Scope, query: ListSuppressionsQuery, serialize: (row: Suppression) => Out): Promise<Page<Out>> {
    const where = {
      merchantId: scope.merchantId,
      environment: scope.environment,
      ...(query.channel && { channel: query.channel }),
      ...(query.address !== undefined && { addressHash: { in: await this.hashesOf(this.db, query.address) } }),
    };
    return paginate(this.db.suppression, where, query, serialize);
  }

  async find(tx: DbTx, scope: Scope, id: string): Promise<Suppression | null> {
    return tx.suppression.findFirst({ where: { id, merchantId: scope.merchantId, environment: scope.environment } });
  }

  async delete(tx: DbTx, id: string): Promise<void> {
    await tx.suppression.delete({ where: { id } });
  }

  /**
   * The addresses of per-customer opt-outs recorded before the suppression list existed join it,
   * one batch per call; true while there may be more. Repeating it adds nothing.
   */
  async addOptedOutAddresses(batch: number): Promise<boolean> {
    const { db } = this;
    const address = Prisma.sql`CASE o.channel WHEN 'email' THEN c.email ELSE c.phone END`;
    const ref: AddressRef = { merchantId: Prisma.sql`o.merchant_id`, environment: Prisma.sql`o.environment`, channel: Prisma.sql`o.channel`, address };
    const missing = await db.$queryRaw<{ merchant_id: string; environment: Suppression['environment']; channel: Channel; address_hash: string; source: string }[]>`
      SELECT o.merchant_id, o.environment, o.channel, ${this.hash(address, this.keys[0]!)} AS address_hash, o.source
      FROM message_opt_outs o JOIN customers c ON c.id = o.customer_id
      WHERE ${address} IS NOT NULL AND NOT ${this.matches(ref)}
      LIMIT ${batch}`;
    if (missing.length === 0) return false;
    await db.suppression.createMany({
      data: missing.map((row) => ({
        id: newId('suppression'),
        merchantId: row.merchant_id,
        environment: row.environment,
        channel: row.channel,
        addressHash: row.address_hash,
        keyId: this.keys[0]!.id,
        source: row.source,
      })),
      skipDuplicates: true,
    });
    return missing.length === batch;
  }

  /** An address's hash under every key, as the list stores them. */
  private async hashesOf(db: Db | DbTx, address: string): Promise<string[]> {
    const [row] = await db.$queryRaw<{ hashes: string[] }[]>`
      SELECT ARRAY[${Prisma.join(this.keys.map((key) => this.hash(Prisma.sql`${address}::text`, key)))}] AS hashes`;
    return row!.hashes;
  }

  private ref(scope: Scope, channel: Channel, address: string | null): AddressRef {
    return {
      merchantId: Prisma.sql`${scope.merchantId}`,
      environment: Prisma.sql`${scope.environment}::"Environment"`,
      channel: Prisma.sql`${channel}`,
      address: Prisma.sql`${address}::text`,
    };
  }
}
