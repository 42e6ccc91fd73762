import { sql, type Kysely } from 'kysely'

/**
 * Every legal person of the notice. The federation and JCCU are named by the policy document;
 * the member co-ops, each a legal person of its own, are registered here. Every client belongs to
 * one provider, and every consent and suspension is recorded by one. What was recorded before
 * providers were told apart was the federation's: its id, as the policy document gives it, is the
 * default of the columns added here (a migration never imports the policy, so it is written out).
 *
 * Ledger entries are not altered (they are append-only and hashed): a new entry names its
 * provider in its content, and an entry without one is the federation's.
 *
 * Contractors get a country, since an entrustment abroad is a provision abroad (APPI Art. 28), and
 * contractors and recipients an equivalent-measures system (基準適合体制, Art. 28(1), 28(3)). A
 * consent may name a contractor abroad instead of a recipient category, and carry the
 * foreign-recipient information it was given with (PPC rule 17(2)).
 */
const FEDERATION = 'shizenha'

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('entities')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('kind', 'text', (c) => c.notNull().check(sql`kind = 'member_coop'`))
    .addColumn('name_ja', 'text', (c) => c.notNull())
    .addColumn('name_en', 'text', (c) => c.notNull())
    .addColumn('address', 'text')
    .addColumn('representative', 'text')
    .addColumn('corporate_number', 'text', (c) => c.unique().check(sql`corporate_number ~ '^[0-9]{13}$'`))
    .addColumn('active', 'boolean', (c) => c.notNull().defaultTo(true))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull())
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull())
    .execute()
  await sql`
    CREATE TRIGGER entities_announce_change AFTER INSERT OR UPDATE OR DELETE ON entities
    FOR EACH ROW EXECUTE FUNCTION announce_fact_change('entity', 'id')`.execute(db)
  await sql`
    CREATE TRIGGER entities_announce_truncate AFTER TRUNCATE ON entities
    FOR EACH STATEMENT EXECUTE FUNCTION announce_all_facts_changed()`.execute(db)

  await db.schema
    .alterTable('clients')
    .addColumn('entity_id', 'text', (c) => c.notNull().defaultTo(FEDERATION))
    .execute()
  await db.schema
    .alterTable('consents')
    .addColumn('provider_id', 'text', (c) => c.notNull().defaultTo(FEDERATION))
    .execute()
  await db.schema
    .alterTable('suspensions')
    .addColumn('provider_id', 'text', (c) => c.notNull().defaultTo(FEDERATION))
    .execute()

  await db.schema
    .alterTable('consents')
    .addColumn('contractor_id', 'uuid', (c) => c.references('contractors.id'))
    .execute()
  await db.schema.alterTable('consents').addColumn('foreign_recipient', 'jsonb').execute()
  await db.schema
    .alterTable('consents')
    .alterColumn('recipient_category', (c) => c.dropNotNull())
    .execute()
  await db.schema
    .alterTable('consents')
    .addCheckConstraint('consents_recipient_or_contractor', sql`(recipient_category IS NULL) <> (contractor_id IS NULL)`)
    .execute()

  await db.schema
    .alterTable('contractors')
    .addColumn('country', 'text', (c) => c.notNull().defaultTo('JP'))
    .execute()
  await db.schema.alterTable('contractors').addColumn('equivalent_measures', 'jsonb').execute()
  await db.schema.alterTable('recipients').addColumn('equivalent_measures', 'jsonb').execute()

  // The provision records (Art. 29) of each provider are read by provider and member.
  await sql`CREATE INDEX ledger_entries_provider_member_idx ON ledger_entries ((coalesce(content->>'providerId', ${sql.lit(FEDERATION)})), member_id, position)
    WHERE kind = 'decision' AND decision = 'allow'`.execute(db)
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`DROP INDEX ledger_entries_provider_member_idx`.execute(db)
  await db.schema.alterTable('recipients').dropColumn('equivalent_measures').execute()
  await db.schema.alterTable('contractors').dropColumn('equivalent_measures').execute()
  await db.schema.alterTable('contractors').dropColumn('country').execute()
  await db.schema.alterTable('consents').dropConstraint('consents_recipient_or_contractor').execute()
  // Consents to a contractor abroad have no recipient category and cannot be kept by the older schema.
  await db.deleteFrom('consents').where('recipient_category', 'is', null).execute()
  await db.schema
    .alterTable('consents')
    .alterColumn('recipient_category', (c) => c.setNotNull())
    .execute()
  await db.schema.alterTable('consents').dropColumn('foreign_recipient').execute()
  await db.schema.alterTable('consents').dropColumn('contractor_id').execute()
  await db.schema.alterTable('suspensions').dropColumn('provider_id').execute()
  await db.schema.alterTable('consents').dropColumn('provider_id').execute()
  await db.schema.alterTable('clients').dropColumn('entity_id').execute()
  await db.schema.dropTable('entities').execute()
}
