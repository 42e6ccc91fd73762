import { sql, type Kysely } from 'kysely'

/**
 * Service processes cache clients by token hash. A revocation (or any other change to a client)
 * made behind the service's back, by an operator's psql during an incident or by the CLI, must
 * reach every cache too, so a trigger, not the service's code, announces it on the same
 * `shizenha_clients` channel the service already listens on: the client's id, or `*` after a
 * TRUNCATE. Inserts are not announced: a cache never holds a client it has not read.
 *
 * `expires_at` is an optional end of a token's life, enforced when it authenticates.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('clients').addColumn('expires_at', 'timestamptz').execute()
  await sql`
    CREATE FUNCTION announce_client_change() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF TG_OP = 'TRUNCATE' THEN
        PERFORM pg_notify('shizenha_clients', '*');
      ELSIF TG_OP = 'DELETE' THEN
        PERFORM pg_notify('shizenha_clients', OLD.id);
      ELSE
        PERFORM pg_notify('shizenha_clients', NEW.id);
        -- An id rewritten in place leaves the old one cached elsewhere.
        IF OLD.id IS DISTINCT FROM NEW.id THEN PERFORM pg_notify('shizenha_clients', OLD.id); END IF;
      END IF;
      RETURN NULL;
    END $$`.execute(db)
  await sql`
    CREATE TRIGGER clients_announce_change AFTER UPDATE OR DELETE ON clients
    FOR EACH ROW EXECUTE FUNCTION announce_client_change()`.execute(db)
  await sql`
    CREATE TRIGGER clients_announce_truncate AFTER TRUNCATE ON clients
    FOR EACH STATEMENT EXECUTE FUNCTION announce_client_change()`.execute(db)
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`DROP TRIGGER clients_announce_truncate ON clients`.execute(db)
  await sql`DROP TRIGGER clients_announce_change ON clients`.execute(db)
  await sql`DROP FUNCTION announce_client_change()`.execute(db)
  await db.schema.alterTable('clients').dropColumn('expires_at').execute()
}
