import pg from 'pg'
import t, { type Test } from 'tap'
import { PgCluster, postgresBinDir } from '../support/pg-cluster.js'
import { startServer, type ServerProcess } from '../support/server-process.js'

const ADMIN = 'outage-admin-token-0123456789abcdef'
const IN_FLIGHT = 4
const REQUEST_TIMEOUT_MS = 30_000

const TRANSFER = { channel: 'joint_use', memberId: 'M-000777', purpose: 'ordering', dataItems: ['name', 'address'], jointUser: 'JCCU' }

function call(server: ServerProcess, method: string, path: string, body?: unknown): Promise<Response> {
  return fetch(`${server.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${ADMIN}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS)
  })
}

/** What a caller may see of an outage: a retryable problem, with nothing of our internals. */
async function assertUnavailable(t: Test, res: Response, code: string, what: string): Promise<string> {
  t.equal(res.status, 503, `${what}: 503`)
  t.match(res.headers.get('content-type') ?? '', /^application\/problem\+json/, `${what}: problem+json`)
  t.match(res.headers.get('retry-after') ?? '', /^\d+$/, `${what}: Retry-After`)
  const text = await res.text()
  const body = JSON.parse(text) as { type: string; status: number; title: string; detail: string }
  t.match(body, { type: new RegExp(`/${code}$`), status: 503, title: 'Service Unavailable' }, `${what}: ${code}`)
  t.notMatch(
    text,
    /\bselect\b|\binsert\b|\bupdate\b|ledger_heads|api_clients|\n\s+at |\.ts:\d+|terminat|ECONN|postgres:\/\//i,
    `${what}: no SQL, stack or driver text`
  )
  return body.type
}

/** Waits until a backend of the app's database waits on a lock: a transfer's transaction queued behind ours. */
async function waitForLockWaiter(cluster: PgCluster): Promise<void> {
  for (let i = 0; i < 300; i++) {
    const [row] = await cluster.sql<{ n: number }>("SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = 'app' AND wait_event_type = 'Lock'")
    if ((row?.n ?? 0) > 0) return
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  throw new Error('no transfer reached the ledger lock')
}

t.test(
  'a PostgreSQL crash during transfers leaves the service up: 503 while the database is gone, serving again once it is back',
  { skip: postgresBinDir() === undefined ? 'no PostgreSQL server binaries (apt-get install postgresql-15)' : false },
  async (t) => {
    const cluster = await PgCluster.create(t)
    await cluster.start()
    await cluster.sql('CREATE DATABASE app')
    const server = await startServer(t, { DATABASE_URL: cluster.url('app'), BOOTSTRAP_ADMIN_TOKEN: ADMIN })

    const before = await call(server, 'POST', '/v1/transfers', TRANSFER)
    t.equal(before.status, 201, 'a transfer is recorded while PostgreSQL is up')

    // Hold every ledger head so that transfers are mid-transaction, on checked-out connections,
    // when the server dies: the case that used to kill the process.
    const locker = new pg.Client({ connectionString: cluster.url('app') })
    locker.on('error', () => {})
    await locker.connect()
    t.teardown(() => locker.end().catch(() => {}))
    await locker.query('BEGIN')
    await locker.query('SELECT chain FROM ledger_heads FOR UPDATE')
    const inFlight = Array.from({ length: IN_FLIGHT }, () =>
      call(server, 'POST', '/v1/transfers', TRANSFER).then(
        (res) => res,
        (err: Error) => err
      )
    )
    await waitForLockWaiter(cluster)
    // Group commit puts the other transfers in the next group, queued in the process behind the
    // one waiting; give them the moment they need to get there.
    await new Promise((resolve) => setTimeout(resolve, 300))

    await cluster.crash()
    const answers = await Promise.all(inFlight)
    // The process would die within a tick of the lost connections; give it time to be seen dying.
    await new Promise((resolve) => setTimeout(resolve, 500))
    if (server.child.exitCode !== null || server.child.signalCode !== null) {
      t.fail('the server process died when PostgreSQL crashed', { output: server.output().slice(-4000) })
      return
    }
    t.pass('the server process survived the crash')
    const types: string[] = []
    for (const [i, answer] of answers.entries()) {
      if (answer instanceof Error) t.fail(`in-flight transfer ${i} got no answer: ${answer.message}`)
      else types.push(await assertUnavailable(t, answer, '(ledger|database)_unavailable', `in-flight transfer ${i}`))
    }
    t.ok(
      types.some((type) => type.endsWith('/ledger_unavailable')),
      'the transfer whose transaction was open: ledger_unavailable'
    )

    await assertUnavailable(t, await call(server, 'GET', '/v1/ledger'), 'database_unavailable', 'token lookup for GET /v1/ledger')
    await assertUnavailable(t, await call(server, 'POST', '/v1/transfers', TRANSFER), 'database_unavailable', 'POST /v1/transfers')
    await assertUnavailable(t, await call(server, 'GET', '/v1/recipients'), 'database_unavailable', 'GET /v1/recipients')
    await assertUnavailable(t, await fetch(`${server.url}/readyz`), 'not_ready', 'GET /readyz')
    const health = await fetch(`${server.url}/healthz`)
    t.equal(health.status, 200, '/healthz: the process itself is up')

    await cluster.start()
    let ready = 0
    for (let i = 0; i < 100 && ready !== 200; i++) {
      ready = (await fetch(`${server.url}/readyz`)).status
      if (ready !== 200) await new Promise((resolve) => setTimeout(resolve, 100))
    }
    t.equal(ready, 200, '/readyz is 200 again without a restart')
    const after = await call(server, 'POST', '/v1/transfers', TRANSFER)
    t.equal(after.status, 201, 'a new transfer is recorded')
    const verify = await call(server, 'GET', '/v1/ledger/verify')
    t.equal(verify.status, 200)
    t.match(await verify.json(), { ok: true, entriesChecked: 2 }, 'the ledger verifies and holds only the two transfers that were answered 201')

    // A hung server (every backend frozen) must not hang the probe: a prompt 503 instead.
    cluster.pause()
    const probed = Date.now()
    const hung = await fetch(`${server.url}/readyz`, { signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) })
    cluster.resume()
    await assertUnavailable(t, hung, 'not_ready', 'GET /readyz while PostgreSQL hangs')
    t.ok(Date.now() - probed < 10_000, '/readyz answers within its bound while PostgreSQL hangs')

    t.equal(server.child.exitCode, null, 'the same process served throughout')
    t.match(server.output(), /"level":40,[^\n]*"msg":"PostgreSQL connection lost"/, 'the lost connections were logged')
  }
)
