import { sql, type Kysely } from 'kysely'

/**
 * Compliance fidelity: where a recipient is (APPI Art. 28), the policy version a consent was
 * given under (so that it keeps meaning what it meant), and what a suspension stops (Art. 35).
 */

/** The first published policy version: every consent older than this migration was given under it or recorded with it. */
const FIRST_POLICY_VERSION = '2026-11-01.1'

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .alterTable('recipients')
    .addColumn('country', 'text', (c) =>
      c
        .notNull()
        .defaultTo('JP')
        .check(sql`country ~ '^[A-Z]{2}$'`)
    )
    .execute()

  await db.schema.alterTable('consents').addColumn('policy_version', 'text').execute()
  // The grant's ledger entry already names the version it was recorded under; take it from there.
  await sql`
    UPDATE consents AS c SET policy_version = COALESCE(
      (SELECT e.content->>'policyVersion' FROM ledger_entries e
        WHERE e.kind = 'consent_granted' AND e.member_id = c.member_id AND e.content->'consent'->>'id' = c.id::text
        ORDER BY e.position LIMIT 1),
      ${FIRST_POLICY_VERSION})`.execute(db)
  await db.schema
    .alterTable('consents')
    .alterColumn('policy_version', (c) => c.setNotNull())
    .execute()

  await db.schema
    .alterTable('suspensions')
    .addColumn('scope', 'text', (c) =>
      c
        .notNull()
        .defaultTo('provision')
        .check(sql`scope IN ('provision', 'use')`)
    )
    .execute()
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('suspensions').dropColumn('scope').execute()
  await db.schema.alterTable('consents').dropColumn('policy_version').execute()
  await db.schema.alterTable('recipients').dropColumn('country').execute()
}
