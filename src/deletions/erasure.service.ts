import type { DbTx } from '../db.js';
import type { Environment } from '../generated/prisma/enums.js';
import { findRepliesConcerning, rewriteReplies } from '../idempotency/idempotency.store.js';
import { redactCustomer } from '../lib/personal-data.js';

// The erasure's contract with the features that hold a customer's personal data (each gives a
// PersonalDataStore; src/services.ts lists them and the erasure step, erasure.steps.ts, runs
// them), and the erasure of the stored Idempotency-Key replies.

/** The customer whose personal data is erased. */
export interface ErasureSubject {
  customerId: string;
  merchantId: string;
  environment: Environment;
  /**
   * The customer's personal values as they were before this erasure (empty when a repeated
   * erasure finds them cleared): stores that hold them in free text (an error message, a path)
   * look for them.
   */
  personal: { values: string[]; externalSource: string | null; externalId: string | null };
}

/**
 * A place that holds a customer's personal data or copies of it. `erase` runs in the erasure's
 * transaction, must be safe to run again, and returns how many records it changed. A domain that
 * stores personal data adds its store to the list `personalData` in src/services.ts.
 */
export interface PersonalDataStore {
  name: string;
  erase(tx: DbTx, subject: ErasureSubject): Promise<number>;
}

/**
 * Stored Idempotency-Key replies that concern the customer: every reply naming it (recorded with
 * the reply in `customer_ids`: creates, updates, upserts, batches, a 409 naming it as the existing
 * customer, a sequence preview rendered for it) and every request made on its external-id path.
 * Customer objects and billing snapshots in them are erased, preview steps lose their recipient
 * and rendered content, error messages lose its values, and the path loses its external id. The
 * request hash stays, so a retry of the same request still replays (the erased reply).
 */
export const idempotencyReplyStore: PersonalDataStore = {
  name: 'stored replies',
  async erase(tx, subject) {
    const { customerId, merchantId, environment } = subject;
    const records = await findRepliesConcerning(tx, { merchantId, environment }, customerId, subject.personal.externalId);
    const changed = records.flatMap((record) => {
      const erased = eraseReply(record, subject);
      return erased ? [{ id: record.id, ...erased }] : [];
    });
    if (changed.length === 0) return 0;
    await rewriteReplies(tx, changed);
    return changed.length;
  },
};

const ERASED = '[erased]';
const ERASED_MESSAGE = 'This reply concerned a customer whose personal data was erased.';
const EXTERNAL_PATH = /^(\/v1\/customers\/external\/)([^/?#]+)\/([^/?#]+)(.*)$/s;

/** The erased form of one stored reply and its path, or undefined when it holds nothing of the customer. */
function eraseReply(record: { path: string; json: unknown }, subject: ErasureSubject): { json: unknown; path: string } | undefined {
  const { customerId, personal } = subject;
  let changed = false;
  let path = record.path;
  const external = EXTERNAL_PATH.exec(path);
  if (external && personal.externalId !== null && decoded(external[3]!) === personal.externalId && decoded(external[2]!) === personal.externalSource) {
    path = `${external[1]}${external[2]}/${ERASED}${external[4]}`;
    changed = true;
  }
  const redacted = redactCustomer(record.json, customerId);
  let json = redacted.value;
  changed ||= redacted.changed;
  // Error messages quote values ("A customer with email '…' already exists", a batch item's
  // error): each of the customer's values is erased where quoted (in any case: emails are unique
  // case-insensitively), and a message still holding one is replaced whole.
  const patterns = personal.values.map((value) => new RegExp(value.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'), 'gi'));
  const holds = (text: string) => patterns.some((pattern) => text.search(pattern) >= 0);
  const eraseMessage = (message: string) => {
    if (!holds(message)) return message;
    changed = true;
    const quotedOut = patterns.reduce((text, pattern) => text.replace(new RegExp(`'${pattern.source}'`, 'gi'), `'${ERASED}'`), message);
    return holds(quotedOut) ? ERASED_MESSAGE : quotedOut;
  };
  const walk = (node: unknown): unknown => {
    if (Array.isArray(node)) return node.map(walk);
    if (node === null || typeof node !== 'object') return node;
    return Object.fromEntries(
      Object.entries(node).map(([key, child]) => [key, key === 'message' && typeof child === 'string' ? eraseMessage(child) : walk(child)]),
    );
  };
  if (patterns.length > 0) json = walk(json);
  return changed ? { json, path } : undefined;
}

function decoded(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}
