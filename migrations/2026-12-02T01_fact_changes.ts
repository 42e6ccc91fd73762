import { sql, type Kysely } from 'kysely'

/**
 * Every change to what a decision reads is announced on the `shizenha_facts` channel as
 * `member:<id>`, `recipient:<id>` or `contractor:<id>` (`*` after a TRUNCATE), delivered when the
 * changing transaction commits. Service processes cache the facts of checks and drop what is
 * announced, so a trigger, not the service's own code, is what announces: a change made by the
 * CLI, another replica or an operator's psql reaches every cache the same way.
 */
const ANNOUNCED = [
  { table: 'recipients', kind: 'recipient', key: 'id' },
  { table: 'contractors', kind: 'contractor', key: 'id' },
  { table: 'contracts', kind: 'contractor', key: 'contractor_id' },
  { table: 'inspections', kind: 'contractor', key: 'contractor_id' },
  { table: 'consents', kind: 'member', key: 'member_id' },
  { table: 'suspensions', kind: 'member', key: 'member_id' }
] as const

export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    CREATE FUNCTION announce_fact_change() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      PERFORM pg_notify('shizenha_facts', TG_ARGV[0] || ':' || ((CASE WHEN TG_OP = 'DELETE' THEN to_jsonb(OLD) ELSE to_jsonb(NEW) END) ->> TG_ARGV[1]));
      RETURN NULL;
    END $$`.execute(db)
  await sql`
    CREATE FUNCTION announce_all_facts_changed() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      PERFORM pg_notify('shizenha_facts', '*');
      RETURN NULL;
    END $$`.execute(db)
  for (const { table, kind, key } of ANNOUNCED) {
    await sql`
      CREATE TRIGGER ${sql.id(`${table}_announce_change`)} AFTER INSERT OR UPDATE OR DELETE ON ${sql.id(table)}
      FOR EACH ROW EXECUTE FUNCTION announce_fact_change(${sql.lit(kind)}, ${sql.lit(key)})`.execute(db)
    await sql`
      CREATE TRIGGER ${sql.id(`${table}_announce_truncate`)} AFTER TRUNCATE ON ${sql.id(table)}
      FOR EACH STATEMENT EXECUTE FUNCTION announce_all_facts_changed()`.execute(db)
  }
}

export async function down(db: Kysely<any>): Promise<void> {
  for (const { table } of ANNOUNCED) {
    await sql`DROP TRIGGER ${sql.id(`${table}_announce_change`)} ON ${sql.id(table)}`.execute(db)
    await sql`DROP TRIGGER ${sql.id(`${table}_announce_truncate`)} ON ${sql.id(table)}`.execute(db)
  }
  await sql`DROP FUNCTION announce_all_facts_changed()`.execute(db)
  await sql`DROP FUNCTION announce_fact_change()`.execute(db)
}
