import { execFile } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import type { AddressInfo } from 'node:net'
import { sql } from 'kysely'
import t from 'tap'
import { Database } from '../../src/db/database.js'
import { jointUse, statutoryException } from '../fixtures.js'
import { buildTestApp, DATABASE_URL, emptyTestDatabaseUrl } from '../helper.js'
import { ROOT, shizenha } from './run-cli.js'

const dir = mkdtempSync(path.join(tmpdir(), 'shizenha-cli-'))
t.teardown(() => rmSync(dir, { recursive: true, force: true }))

/**
 * Where the CLI finds the database: a fresh, empty PostgreSQL database (the suite's server), or
 * a DATA_DIR that does not exist yet (the embedded database).
 */
async function target(): Promise<{ env: Record<string, string>; open: () => Promise<Database> }> {
  if (DATABASE_URL) {
    const url = await emptyTestDatabaseUrl(t)
    return { env: { DATABASE_URL: url }, open: () => Database.open({ url, dataDir: 'memory://', schema: 'public', poolSize: 2 }) }
  }
  const dataDir = path.join(dir, 'data')
  return { env: { DATA_DIR: dataDir }, open: () => Database.open({ dataDir, schema: 'public', poolSize: 1 }) }
}

/**
 * Runs reads that change nothing side by side on PostgreSQL; one after another on the embedded
 * database, which admits one process at a time.
 */
async function alongside<const T extends readonly (() => Promise<unknown>)[]>(calls: T): Promise<{ -readonly [K in keyof T]: Awaited<ReturnType<T[K]>> }> {
  type Results = { -readonly [K in keyof T]: Awaited<ReturnType<T[K]>> }
  if (DATABASE_URL) return (await Promise.all(calls.map((call) => call()))) as Results
  const results: unknown[] = []
  for (const call of calls) results.push(await call())
  return results as Results
}

/** Runs the service on the database for `work`, then closes it (the embedded one is one process's). */
async function withService<T>(
  open: () => Promise<Database>,
  work: (api: { url: string; request: Awaited<ReturnType<typeof buildTestApp>>['request'] }) => Promise<T>
): Promise<T> {
  const database = await open()
  const test = await buildTestApp(t, { database, config: { dataDir: path.join(dir, 'data') } })
  try {
    await test.app.listen({ port: 0, host: '127.0.0.1' })
    return await work({ url: `http://127.0.0.1:${(test.app.server.address() as AddressInfo).port}`, request: test.request })
  } finally {
    await test.app.close()
    await database.close()
  }
}

t.test('migrate, clients, verify, export, policy, tampering', async (t) => {
  const { env, open } = await target()

  if (DATABASE_URL) {
    const before = await shizenha(['clients', 'list'], env)
    t.equal(before.code, 1, 'a database that is not migrated is refused')
    t.match(before.stderr, /shizenha migrate/)
  }
  const migrated = await shizenha(['migrate'], env)
  t.equal(migrated.code, 0, `migrate: ${migrated.stderr}`)
  t.match(migrated.stdout, /now at the latest migration/)
  const again = await shizenha(['migrate'], env)
  t.equal(again.code, 0)
  t.match(again.stdout, /already at the latest migration/)

  // Clients: the first admin comes from the CLI, no token needed.
  const admin = await shizenha(['clients', 'create', '--name', 'first admin', '--role', 'admin', '--json'], env)
  t.equal(admin.code, 0, admin.stderr)
  const adminClient = JSON.parse(admin.stdout) as { id: string; token: string; role: string }
  t.equal(adminClient.role, 'admin')
  t.match(adminClient.token, /^shz_/)
  const system = await shizenha(
    ['clients', 'create', '--name', 'billing system', '--role', 'system', '--channels', 'third_party', '--purposes', 'billing,delivery', '--rate-limit', '600'],
    env
  )
  t.equal(system.code, 0, system.stderr)
  t.match(system.stdout, /billing system\s+system\s+shz_/)
  t.match(system.stderr, /shown this once/)
  const systemId = system.stdout.split('\n')[1]!.split(/\s+/)[0]!

  const listed = await shizenha(['clients', 'list', '--json'], env)
  t.equal(listed.code, 0)
  const clients = (
    JSON.parse(listed.stdout) as {
      clients: { id: string; channels: string[] | null; purposes: string[] | null; rateLimit: number | null; revokedAt: string | null }[]
    }
  ).clients
  t.same(clients.map((c) => c.id).sort(), [adminClient.id, systemId].sort())
  t.match(
    clients.find((c) => c.id === systemId),
    { channels: ['third_party'], purposes: ['billing', 'delivery'], rateLimit: 600, revokedAt: null }
  )
  t.notMatch(listed.stdout, /shz_/, 'no token is ever listed')

  const revoked = await shizenha(['clients', 'revoke', systemId], env)
  t.equal(revoked.code, 0, revoked.stderr)
  t.match(revoked.stdout, new RegExp(`revoked ${systemId}`))
  const active = await shizenha(['clients', 'list', '--active'], env)
  t.equal(active.code, 0)
  t.match(active.stdout, /^id\s+role\s+name\s+scope\s+rate limit\s+created\s+revoked\n/, 'a table for people')
  t.match(active.stdout, new RegExp(`\\n${adminClient.id}\\s+admin\\s+first admin\\s+-\\s+-\\s+\\S+\\s+-\\n$`), 'only the active admin')
  t.notMatch(active.stdout, new RegExp(systemId), 'not the revoked client')
  const unknown = await shizenha(['clients', 'revoke', 'no-such-client'], env)
  t.equal(unknown.code, 1)
  t.match(unknown.stderr, /no client no-such-client/)

  // Entries to verify and export, recorded by the service itself; the revoked token is refused there.
  const entries = await withService(open, async ({ url, request }) => {
    const refused = await request({ method: 'GET', url: '/v1/policy', token: (/shz_\S+/.exec(system.stdout) ?? [''])[0] })
    t.equal(refused.statusCode, 401, 'the service refuses the revoked token')
    const ids: string[] = []
    for (const payload of [jointUse('M-cli-1'), jointUse('M-cli-2', 'delivery'), statutoryException('M-cli-1')]) {
      const res = await request({ method: 'POST', url: '/v1/transfers', payload })
      t.equal(res.statusCode, 201, res.body)
      ids.push(res.json().entry.id)
    }

    // The same commands through the service (--url), with the admin token the CLI created.
    const http = { SHIZENHA_URL: url, SHIZENHA_TOKEN: adminClient.token }
    // Reads that change nothing, each a process of its own: side by side, not one after another.
    const [verify, list, policy, checkpoint, wrongToken, records, ledger] = await Promise.all([
      shizenha(['verify', '--json'], http),
      shizenha(['clients', 'list', '--json'], http),
      shizenha(['policy'], http),
      shizenha(['checkpoint'], http),
      shizenha(['verify'], { ...http, SHIZENHA_TOKEN: 'not-a-valid-token-at-all' }),
      shizenha(['export', 'provision-records', 'M-cli-1'], http),
      shizenha(['export', 'ledger'], http)
    ])
    t.equal(verify.code, 0, verify.stderr)
    t.match(JSON.parse(verify.stdout), { ok: true, entriesChecked: 3 })
    t.equal(list.code, 0, list.stderr)
    t.ok(
      (JSON.parse(list.stdout) as { clients: { id: string }[] }).clients.some((c) => c.id === adminClient.id),
      'the clients, through the service'
    )
    t.equal(policy.code, 0, policy.stderr)
    t.match(policy.stdout, /\(the service at http:\/\/127\.0\.0\.1:\d+\)/)
    // The test service signs with a key of its own (test/helper.ts), on both databases.
    t.equal(checkpoint.code, 0, checkpoint.stderr)
    t.match(checkpoint.stdout, /^shizenha\.example\/audit-ledger\n3\n/)
    t.match(checkpoint.stdout, /\n\n— shizenha\.example\/audit-ledger \S+\n$/)
    t.equal(wrongToken.code, 1)
    t.match(wrongToken.stderr, /401 unauthorized/)
    t.equal(records.code, 0, records.stderr)
    t.match(JSON.parse(records.stdout), { memberId: 'M-cli-1', records: [] }, 'JSON; third-party provisions only by default')
    t.equal(ledger.code, 0, ledger.stderr)
    t.equal(ledger.stdout.trimEnd().split('\n').length, 4, 'three entries and the trailer')
    if (DATABASE_URL) {
      // A token the running service has cached, revoked on the database behind it: refused at once.
      const made = await shizenha(['clients', 'create', '--name', 'short-lived', '--role', 'ops', '--json'], env)
      t.equal(made.code, 0, made.stderr)
      const shortLived = JSON.parse(made.stdout) as { id: string; token: string }
      t.equal((await request({ method: 'GET', url: '/v1/policy', token: shortLived.token })).statusCode, 200, 'admitted (and cached)')
      t.equal((await shizenha(['clients', 'revoke', shortLived.id], env)).code, 0)
      t.equal(
        (await request({ method: 'GET', url: '/v1/policy', token: shortLived.token })).statusCode,
        401,
        'the running service refuses it from the next request on'
      )
    }
    if (!DATABASE_URL) {
      const locked = await shizenha(['verify'], env)
      t.equal(locked.code, 3, 'the embedded database is the running service’s')
      t.match(locked.stderr, /in use by process \d+; .*--url/)
    }
    return ids
  })

  const file = path.join(dir, 'ledger.jsonl')
  const [verify, exported, csv, policy] = await alongside([
    () => shizenha(['verify'], env),
    () => shizenha(['export', 'ledger', '-o', file], env),
    () => shizenha(['export', 'provision-records', 'M-cli-1', '--format', 'csv', '--include', 'all', '--lang', 'en'], env),
    () => shizenha(['policy', '--json'], env)
  ])
  t.equal(verify.code, 0, verify.stderr)
  t.match(verify.stdout, /^ok: 3 entries checked \(full\), 16 chains$/m)

  t.equal(exported.code, 0, exported.stderr)
  t.equal(exported.stdout, '', 'nothing on stdout when writing a file')
  t.equal(statSync(file).mode & 0o777, 0o600, 'the export is readable by its owner only')
  const lines = readFileSync(file, 'utf8')
    .trimEnd()
    .split('\n')
    .map((line) => JSON.parse(line) as Record<string, unknown>)
  t.equal(lines.length, 4)
  t.same(
    lines
      .slice(0, 3)
      .map((e) => e.id)
      .sort(),
    [...entries].sort(),
    'every entry'
  )
  t.match(lines[3], { trailer: { entries: 3 } }, 'then the trailer')
  const standalone = await new Promise<number>((resolve) =>
    execFile(process.execPath, [path.join(ROOT, 'scripts/verify-ledger-export.mjs'), file], { timeout: 60_000 }, (err) => resolve(err ? Number(err.code) : 0))
  )
  t.equal(standalone, 0, 'the export re-verifies with the standalone script')

  t.equal(csv.code, 0, csv.stderr)
  t.ok(csv.stdout.startsWith('\uFEFF'), 'CSV with a byte-order mark, for Excel')
  t.equal(csv.stdout.trimEnd().split('\n').length, 2, 'a header and the statutory exception')

  t.equal(policy.code, 0)
  t.match(JSON.parse(policy.stdout), { version: String, warnings: Array })

  // Tamper with one entry behind the service's back: verify must exit 1 and name it.
  const victim = entries[1]!
  const database = await open()
  try {
    await sql`ALTER TABLE ledger_entries DISABLE TRIGGER USER`.execute(database.db)
    await sql`UPDATE ledger_entries SET content = jsonb_set(content, '{purpose}', '"survey"') WHERE id = ${victim}`.execute(database.db)
    await sql`ALTER TABLE ledger_entries ENABLE TRIGGER USER`.execute(database.db)
  } finally {
    await database.close()
  }
  const tampered = await shizenha(['verify'], env)
  t.equal(tampered.code, 1, 'a tampered ledger: exit 1')
  t.match(tampered.stdout, new RegExp(`^NOT OK: .*entry ${victim}`, 'm'))
  t.match(tampered.stderr, /does not verify/)
})
