import type pg from 'pg';
import { Prisma, type SqlPool } from '../db.js';
import type {
  AppliedCoupon,
  CreditNote,
  Customer,
  Event,
  Invoice,
  InvoiceLine,
  Message,
  MessageOptOut,
  Payment,
  Refund,
  SequenceEnrollment,
  Subscription,
  Suppression,
  Wallet,
  WalletTransaction,
  WebhookDelivery,
} from '../generated/prisma/client.js';
import type { Scope } from '../lib/scope.js';

/** Rows per FETCH: what the API holds of a section at a time, however many rows it has. */
export const EXPORT_FETCH_SIZE = 500;

/** A row of `sequence_enrollments` with what the enrolment view shows beside it. */
export type ExportEnrollmentRow = SequenceEnrollment & {
  sequence: { name: string };
  definition: { steps: unknown };
  messages: { step: number | null; channel: 'email' | 'sms'; skipReason: string | null; createdAt: Date }[];
};

export type ExportDeliveryRow = WebhookDelivery & { event: Pick<Event, 'type'> };
export type ExportInvoiceRow = Invoice & { lines: InvoiceLine[] };

/** SQL of the suppression rows (alias `sup`) that hash one address: from the suppression store, which knows the keys. */
export type AddressHashMatch = (address: Prisma.Sql) => Prisma.Sql;

const camelNames = new Map<string, string>();
function camel(column: string): string {
  let name = camelNames.get(column);
  if (name === undefined) {
    name = column.replace(/_([a-z0-9])/g, (_, letter: string) => letter.toUpperCase());
    camelNames.set(column, name);
  }
  return name;
}

/**
 * A row read with plain SQL as Prisma returns it: camelCase fields, int8 columns (which pg reads
 * as text) as bigint. Columns a later migration adds come along, so serializers see them.
 */
function modelOf<T>(row: Record<string, unknown>, bigints: readonly string[] = []): T {
  const model: Record<string, unknown> = {};
  for (const [column, value] of Object.entries(row)) model[camel(column)] = value;
  for (const field of bigints) if (model[field] !== null && model[field] !== undefined) model[field] = BigInt(model[field] as string);
  return model as T;
}

const BIGINTS = {
  subscription: ['amount'],
  coupon: ['amountOff', 'amountRemaining'],
  payment: ['amount', 'amountRefunded'],
  refund: ['amount'],
  invoice: ['total', 'subtotal', 'couponsAmount', 'creditsApplied'],
  line: ['unitAmount', 'amount'],
  creditNote: ['amount', 'refundedAmount'],
  wallet: ['rateAmount', 'creditsBalance'],
  walletTransaction: ['credits', 'amount', 'creditsBalanceAfter'],
} as const;

/**
 * One customer's data read for its export, in one REPEATABLE READ READ ONLY transaction on one
 * connection: every section sees the same snapshot, so the document is consistent even while the
 * customer is billed, messaged or erased meanwhile. Each section is a server-side cursor fetched
 * EXPORT_FETCH_SIZE rows at a time, so a section of any size is never held in memory. Reads every
 * table it needs and writes none.
 */
export class CustomerExportSnapshot {
  private cursors = 0;
  private closed = false;

  constructor(
    private readonly client: pg.PoolClient,
    readonly customer: Customer,
    /** The database's clock when the snapshot was taken. */
    readonly takenAt: Date,
    private readonly suppressionMatch: AddressHashMatch,
  ) {}

  /** Pages of rows of one query, through a cursor of this transaction. */
  private async *pages(sql: string, values: unknown[]): AsyncGenerator<Record<string, unknown>[]> {
    const cursor = `export_${++this.cursors}`;
    await this.client.query(`DECLARE ${cursor} NO SCROLL CURSOR FOR ${sql}`, values);
    try {
      for (;;) {
        const { rows } = await this.client.query<Record<string, unknown>>(`FETCH FORWARD ${EXPORT_FETCH_SIZE} FROM ${cursor}`);
        if (rows.length > 0) yield rows;
        if (rows.length < EXPORT_FETCH_SIZE) return;
      }
    } finally {
      if (!this.closed) await this.client.query(`CLOSE ${cursor}`).catch(() => undefined);
    }
  }

  private async *ofCustomer<T>(table: string, bigints: readonly string[] = []): AsyncGenerator<T[]> {
    for await (const rows of this.pages(`SELECT * FROM ${table} WHERE customer_id = $1 ORDER BY id`, [this.customer.id])) {
      yield rows.map((row) => modelOf<T>(row, bigints));
    }
  }

  subscriptions = () => this.ofCustomer<Subscription>('subscriptions', BIGINTS.subscription);
  appliedCoupons = () => this.ofCustomer<AppliedCoupon>('applied_coupons', BIGINTS.coupon);
  payments = () => this.ofCustomer<Payment>('payments', BIGINTS.payment);
  creditNotes = () => this.ofCustomer<CreditNote>('credit_notes', BIGINTS.creditNote);
  wallets = () => this.ofCustomer<Wallet>('wallets', BIGINTS.wallet);
  walletTransactions = () => this.ofCustomer<WalletTransaction>('wallet_transactions', BIGINTS.walletTransaction);
  messages = () => this.ofCustomer<Message>('messages');
  events = () => this.ofCustomer<Event>('events');

  /** Refunds of the customer's payments. */
  async *refunds(): AsyncGenerator<Refund[]> {
    const sql = `SELECT r.* FROM refunds r JOIN payments p ON p.id = r.payment_id WHERE p.customer_id = $1 ORDER BY r.id`;
    for await (const rows of this.pages(sql, [this.customer.id])) yield rows.map((row) => modelOf<Refund>(row, BIGINTS.refund));
  }

  /** Invoices with their lines (one query per page of invoices). */
  async *invoices(): AsyncGenerator<ExportInvoiceRow[]> {
    for await (const invoices of this.ofCustomer<Invoice>('invoices', BIGINTS.invoice)) {
      const { rows } = await this.client.query<Record<string, unknown>>(
        'SELECT * FROM invoice_lines WHERE invoice_id = ANY($1::text[]) ORDER BY created_at, id',
        [invoices.map((invoice) => invoice.id)],
      );
      const lines = rows.map((row) => modelOf<InvoiceLine>(row, BIGINTS.line));
      yield invoices.map((invoice) => ({ ...invoice, lines: lines.filter((line) => line.invoiceId === invoice.id) }));
    }
  }

  /** Enrolments with their sequence's name, their version's steps and their skipped messages. */
  async *enrollments(): AsyncGenerator<ExportEnrollmentRow[]> {
    const sql = `
      SELECT e.*, s.name AS export_sequence_name, v.steps AS export_definition_steps
      FROM sequence_enrollments e
      JOIN sequences s ON s.id = e.sequence_id
      JOIN sequence_versions v ON v.sequence_id = e.sequence_id AND v.version = e.version
      WHERE e.customer_id = $1 ORDER BY e.id`;
    for await (const rows of this.pages(sql, [this.customer.id])) {
      const { rows: skipped } = await this.client.query<Record<string, unknown>>(
        `SELECT enrollment_id, step, channel, skip_reason, created_at FROM messages
         WHERE enrollment_id = ANY($1::text[]) AND status = 'skipped' ORDER BY step`,
        [rows.map((row) => row.id)],
      );
      yield rows.map(({ export_sequence_name: name, export_definition_steps: steps, ...row }) => ({
        ...modelOf<SequenceEnrollment>(row),
        sequence: { name: name as string },
        definition: { steps },
        messages: skipped
          .filter((message) => message.enrollment_id === row.id)
          .map((message) => modelOf<ExportEnrollmentRow['messages'][number] & { enrollmentId: string }>(message)),
      }));
    }
  }

  /** Deliveries of the events that name the customer. */
  async *webhookDeliveries(): AsyncGenerator<ExportDeliveryRow[]> {
    const sql = `
      SELECT d.*, e.type AS export_event_type FROM webhook_deliveries d JOIN events e ON e.id = d.event_id
      WHERE e.customer_id = $1 ORDER BY d.id`;
    for await (const rows of this.pages(sql, [this.customer.id])) {
      yield rows.map(({ export_event_type: type, ...row }) => ({ ...modelOf<WebhookDelivery>(row), event: { type: type as string } }));
    }
  }

  async optOuts(): Promise<MessageOptOut[]> {
    const { rows } = await this.client.query<Record<string, unknown>>('SELECT * FROM message_opt_outs WHERE customer_id = $1 ORDER BY channel', [
      this.customer.id,
    ]);
    return rows.map((row) => modelOf<MessageOptOut>(row));
  }

  /**
   * The tenant's suppressions of the customer's current email and phone (kept as keyed hashes,
   * so they are found only while the customer's addresses are: not after erasure).
   */
  async suppressions(): Promise<Suppression[]> {
    const { merchantId, environment, email, phone } = this.customer;
    const query = Prisma.sql`
      SELECT sup.* FROM suppressions sup
      WHERE sup.merchant_id = ${merchantId} AND sup.environment = ${environment}::"Environment"
        AND ((sup.channel = 'email' AND ${this.suppressionMatch(Prisma.sql`${email}::text`)})
          OR (sup.channel = 'sms' AND ${this.suppressionMatch(Prisma.sql`${phone}::text`)}))
      ORDER BY sup.id`;
    const { rows } = await this.client.query<Record<string, unknown>>(query.text, query.values);
    return rows.map((row) => modelOf<Suppression>(row));
  }

  /** Ends the transaction (it changed nothing) and gives the connection back; safe to call twice. */
  async close(error?: unknown): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    try {
      await this.client.query('ROLLBACK');
      this.client.release();
    } catch (rollbackError) {
      // A connection that cannot even roll back is discarded, not given back to the pool.
      this.client.release(error instanceof Error ? error : (rollbackError as Error));
    }
  }
}

/** Opens customer exports: the only module reading a customer's data across every feature's tables. */
export class CustomerExportStore {
  constructor(private readonly deps: { pool: SqlPool; suppressionMatch: AddressHashMatch }) {}

  /**
   * A snapshot of the tenant's customer, deleted and erased ones included (their export says what
   * was kept); undefined when the tenant has no customer with this id.
   */
  async open(scope: Scope, customerId: string): Promise<CustomerExportSnapshot | undefined> {
    const client = await this.deps.pool.connect();
    try {
      await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
      const { rows } = await client.query<Record<string, unknown>>(
        'SELECT c.*, now() AS export_snapshot_at FROM customers c WHERE id = $1 AND merchant_id = $2 AND environment = $3::"Environment"',
        [customerId, scope.merchantId, scope.environment],
      );
      let snapshot: CustomerExportSnapshot | undefined;
      if (rows[0]) {
        const { export_snapshot_at: takenAt, ...customer } = rows[0];
        snapshot = new CustomerExportSnapshot(client, modelOf<Customer>(customer), takenAt as Date, this.deps.suppressionMatch);
      }
      if (!snapshot) {
        await client.query('ROLLBACK');
        client.release();
      }
      return snapshot;
    } catch (error) {
      client.release(error as Error);
      throw error;
    }
  }
}
