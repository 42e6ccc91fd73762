import pg from 'pg'
import t from 'tap'
import { buildApp } from '../../src/app.js'
import { loadConfig } from '../../src/config.js'
import { Database } from '../../src/db/database.js'
import { grantRuntimeRole, roleOf } from '../../src/db/roles.js'
import { createLogger } from '../../src/logger.js'
import { jointUse } from '../fixtures.js'
import { PgCluster, postgresBinDir } from '../support/pg-cluster.js'
import { startServer } from '../support/server-process.js'

const ADMIN = 'roles-admin-token-0123456789abcdef'

/**
 * Two roles: the owner migrates, the service runs as a role that may only read, append and move
 * heads forward. Whatever the service's credentials leak to, they cannot rewrite the ledger.
 */
t.test(
  'the runtime role cannot rewrite the ledger, and the service runs with it',
  { skip: postgresBinDir() ? false : 'no PostgreSQL server binaries' },
  async (t) => {
    const cluster = await PgCluster.create(t)
    await cluster.start()
    await cluster.sql('CREATE DATABASE app')
    await cluster.sql("CREATE ROLE shizenha_app LOGIN PASSWORD 'runtime-pw'")
    const ownerUrl = cluster.url('app')
    const runtimeUrl = ownerUrl.replace('postgres@', 'shizenha_app:runtime-pw@')

    const owner = await Database.open({ url: ownerUrl, dataDir: 'memory://', schema: 'public', poolSize: 2 })
    await owner.migrateToLatestOrThrow()
    await grantRuntimeRole(owner.db, 'public', roleOf(runtimeUrl))
    await grantRuntimeRole(owner.db, 'public', roleOf(runtimeUrl)) // twice: it is idempotent
    await owner.close()

    const runtime = await Database.open({ url: runtimeUrl, dataDir: 'memory://', schema: 'public', poolSize: 4 })
    const config = loadConfig({}, { bootstrapAdminToken: ADMIN, logLevel: 'silent' })
    const app = await buildApp({ config, database: runtime, logger: createLogger({ logLevel: 'error' }, process.stderr), migrate: false })
    t.teardown(() => app.close())
    const call = (method: 'GET' | 'POST' | 'DELETE', url: string, payload?: unknown) =>
      app.inject({ method, url, headers: { authorization: `Bearer ${ADMIN}` }, ...(payload === undefined ? {} : { payload: payload as object }) })

    const transfer = await call('POST', '/v1/transfers', jointUse('M-roles'))
    t.equal(transfer.statusCode, 201, `a transfer is recorded with the runtime role ${transfer.body}`)
    const member = await call('POST', '/v1/members/M-roles/consents', {
      recipientCategory: 'financial_institution',
      obtainedAt: '2026-01-01T00:00:00Z',
      method: 'paper',
      evidenceRef: 'form-1'
    })
    t.equal(member.statusCode, 201, 'so is a consent')
    t.equal((await call('POST', `/v1/members/M-roles/consents/${member.json().id}/withdraw`, {})).statusCode, 200, 'and its withdrawal (an UPDATE it may do)')
    const system = await call('POST', '/v1/clients', { name: 'billing', role: 'system' })
    t.equal((await call('DELETE', `/v1/clients/${system.json().id}`)).statusCode, 200, 'clients can be revoked')
    t.equal((await call('GET', '/v1/ledger/verify')).json().ok, true, 'and the ledger verifies')

    const client = new pg.Client({ connectionString: runtimeUrl })
    await client.connect()
    t.teardown(() => client.end())
    const refused = async (statement: string, what: string) => {
      const error = await client.query(statement).then(
        () => undefined,
        (err: { code?: string }) => err
      )
      t.equal(error?.code, '42501', `${what} is refused (insufficient_privilege)`)
    }
    await refused("UPDATE ledger_entries SET content = '{}'::jsonb", 'UPDATE of ledger entries')
    await refused('DELETE FROM ledger_entries', 'DELETE of ledger entries')
    await refused('TRUNCATE ledger_entries', 'TRUNCATE of the ledger')
    await refused('ALTER TABLE ledger_entries DISABLE TRIGGER ledger_entries_append_only', 'ALTER TABLE … DISABLE TRIGGER')
    await refused('ALTER TABLE ledger_heads DISABLE TRIGGER USER', 'disabling the heads’ triggers')
    await refused('DELETE FROM ledger_heads', 'DELETE of a head')
    await refused('DROP TABLE ledger_entries', 'DROP TABLE')
    await refused('CREATE TABLE forged (x int)', 'CREATE TABLE')
    const rewind = await client.query('UPDATE ledger_heads SET seq = 0 WHERE seq > 0').then(
      () => undefined,
      (err: { code?: string }) => err
    )
    t.ok(rewind, 'moving a head backwards is refused (by its trigger)')
  }
)

t.test('a runtime role on an unmigrated database is told to migrate first', { skip: postgresBinDir() ? false : 'no PostgreSQL server binaries' }, async (t) => {
  const cluster = await PgCluster.create(t)
  await cluster.start()
  await cluster.sql('CREATE DATABASE app')
  const database = await Database.open({ url: cluster.url('app'), dataDir: 'memory://', schema: 'public', poolSize: 2 })
  t.teardown(() => database.close())
  const config = loadConfig({}, { logLevel: 'silent' })
  await t.rejects(buildApp({ config, database, logger: createLogger(config, { write: () => {} }), migrate: false, closeDatabase: false }), {
    name: 'SchemaNotMigratedError',
    message: /owner role/
  })
})

t.test(
  'npm start with DATABASE_MIGRATION_URL migrates as the owner and serves as the runtime role',
  { skip: postgresBinDir() ? false : 'no PostgreSQL server binaries' },
  async (t) => {
    const cluster = await PgCluster.create(t)
    await cluster.start()
    await cluster.sql('CREATE DATABASE app')
    await cluster.sql("CREATE ROLE shizenha_app LOGIN PASSWORD 'runtime-pw'")
    const server = await startServer(t, {
      DATABASE_URL: cluster.url('app').replace('postgres@', 'shizenha_app:runtime-pw@'),
      DATABASE_MIGRATION_URL: cluster.url('app'),
      BOOTSTRAP_ADMIN_TOKEN: ADMIN
    })
    t.match(server.output(), /migrated with the owner role/)
    t.notMatch(server.output(), /runtime-pw/, 'no password in the log')
    const res = await fetch(`${server.url}/v1/transfers`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
      body: JSON.stringify(jointUse('M-roles'))
    })
    t.equal(res.status, 201, 'transfers are recorded')
    const [owner] = await cluster.sql<{ owner: string }>("SELECT tableowner AS owner FROM pg_tables WHERE tablename = 'ledger_entries'", 'app')
    t.equal(owner?.owner, 'postgres', 'the ledger belongs to the owner role, not to the role the service runs as')
  }
)
