import { sql, type Kysely } from 'kysely'

/**
 * The audit ledger: append-only hash chains, their heads, and idempotency keys.
 *
 * Production privileges: the service's role needs only INSERT and SELECT on ledger_entries,
 * SELECT and UPDATE on ledger_heads, and INSERT, SELECT, DELETE on idempotency_keys:
 *
 *   REVOKE ALL ON ledger_entries, ledger_heads FROM PUBLIC;
 *   GRANT SELECT, INSERT ON ledger_entries TO shizenha_app;
 *   GRANT SELECT, UPDATE ON ledger_heads TO shizenha_app;
 *   GRANT SELECT, INSERT, DELETE ON idempotency_keys TO shizenha_app;
 *
 * The triggers below refuse UPDATE, DELETE and TRUNCATE on the entries even for the owner, so
 * an alteration needs a deliberate `ALTER TABLE … DISABLE TRIGGER`, and verification catches it.
 */
const CHAIN_COUNT = 16

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('ledger_entries')
    .addColumn('position', 'bigint', (c) => c.generatedAlwaysAsIdentity().primaryKey())
    .addColumn('id', 'uuid', (c) => c.notNull().unique())
    .addColumn('chain', 'integer', (c) => c.notNull())
    .addColumn('seq', 'bigint', (c) => c.notNull())
    .addColumn('prev_hash', 'text', (c) => c.notNull())
    .addColumn('hash', 'text', (c) => c.notNull())
    .addColumn('recorded_at', 'timestamptz', (c) => c.notNull())
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('member_id', 'text', (c) => c.notNull())
    .addColumn('client_id', 'text', (c) => c.notNull())
    .addColumn('channel', 'text')
    .addColumn('decision', 'text')
    .addColumn('recipient_id', 'uuid')
    .addColumn('contractor_id', 'uuid')
    .addColumn('content', 'jsonb', (c) => c.notNull())
    .addUniqueConstraint('ledger_entries_chain_seq_key', ['chain', 'seq'])
    .addCheckConstraint('ledger_entries_chain_range', sql`chain >= 0 AND chain < ${sql.lit(CHAIN_COUNT)}`)
    .addCheckConstraint('ledger_entries_seq_positive', sql`seq >= 1`)
    .addCheckConstraint('ledger_entries_hashes_hex', sql`hash ~ '^[0-9a-f]{64}$' AND prev_hash ~ '^[0-9a-f]{64}$'`)
    .execute()
  await db.schema.createIndex('ledger_entries_member_idx').on('ledger_entries').columns(['member_id', 'position']).execute()
  await db.schema.createIndex('ledger_entries_recorded_idx').on('ledger_entries').column('recorded_at').execute()
  await db.schema.createIndex('ledger_entries_recipient_idx').on('ledger_entries').columns(['recipient_id', 'position']).execute()
  await db.schema.createIndex('ledger_entries_contractor_idx').on('ledger_entries').columns(['contractor_id', 'position']).execute()

  await db.schema
    .createTable('ledger_heads')
    .addColumn('chain', 'integer', (c) => c.primaryKey())
    .addColumn('seq', 'bigint', (c) => c.notNull())
    .addColumn('hash', 'text', (c) => c.notNull())
    .execute()
  const genesis = '0'.repeat(64)
  await db
    .insertInto('ledger_heads')
    .values(Array.from({ length: CHAIN_COUNT }, (_, chain) => ({ chain, seq: 0, hash: genesis })))
    .execute()

  await sql`
    CREATE FUNCTION ledger_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      RAISE EXCEPTION 'the audit ledger is append-only: % on % refused', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
    END
    $$`.execute(db)
  await sql`
    CREATE TRIGGER ledger_entries_append_only BEFORE UPDATE OR DELETE ON ledger_entries
    FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change()`.execute(db)
  await sql`
    CREATE TRIGGER ledger_entries_no_truncate BEFORE TRUNCATE ON ledger_entries
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_refuse_change()`.execute(db)

  // A head only moves forward; rewinding it would let a chain fork.
  await sql`
    CREATE FUNCTION ledger_head_forward_only() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF TG_OP <> 'UPDATE' OR NEW.chain <> OLD.chain OR NEW.seq <= OLD.seq THEN
        RAISE EXCEPTION 'ledger heads only move forward' USING ERRCODE = 'insufficient_privilege';
      END IF;
      RETURN NEW;
    END
    $$`.execute(db)
  await sql`
    CREATE TRIGGER ledger_heads_forward_only BEFORE UPDATE OR DELETE ON ledger_heads
    FOR EACH ROW EXECUTE FUNCTION ledger_head_forward_only()`.execute(db)
  await sql`
    CREATE TRIGGER ledger_heads_no_truncate BEFORE TRUNCATE ON ledger_heads
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_refuse_change()`.execute(db)

  await db.schema
    .createTable('idempotency_keys')
    .addColumn('client_id', 'text', (c) => c.notNull())
    .addColumn('key', 'text', (c) => c.notNull())
    .addColumn('request_hash', 'text', (c) => c.notNull())
    .addColumn('status_code', 'integer', (c) => c.notNull())
    .addColumn('response', 'jsonb', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull())
    .addPrimaryKeyConstraint('idempotency_keys_pkey', ['client_id', 'key'])
    .execute()
  await db.schema.createIndex('idempotency_keys_created_idx').on('idempotency_keys').column('created_at').execute()
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('idempotency_keys').execute()
  await db.schema.dropTable('ledger_heads').execute()
  await db.schema.dropTable('ledger_entries').execute()
  await sql`DROP FUNCTION ledger_head_forward_only()`.execute(db)
  await sql`DROP FUNCTION ledger_refuse_change()`.execute(db)
}
