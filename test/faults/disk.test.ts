import { execFile, execFileSync } from 'node:child_process'
import { closeSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs'
import { mkdtemp, rm, unlink } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { promisify } from 'node:util'
import t, { type Test } from 'tap'
import { Api, History, allowedTransfer, auditLedger, exportLedger, mixedTransfer, sleep, waitFor, type Op } from '../support/history.js'
import { PgCluster } from '../support/pg-cluster.js'
import { startServer } from '../support/server-process.js'
import { NO_CLUSTER, TEST_TIMEOUT_MS, assertUnavailable, storedMembers } from './fault-helpers.js'

/**
 * The database cannot write: PostgreSQL made read-only (default_transaction_read_only, as a
 * standby or a full disk's emergency setting would), and a tablespace on a small filesystem that
 * fills up. Every act is then 503 and nothing is allowed; every 201 and 403 that was answered is
 * in the ledger, no 503 left an entry behind (counted against the ledger), and once writes work
 * again the same process records again.
 */

const ADMIN = 'faults-disk-admin-token-0123456789abc'
const run = promisify(execFile)

async function writeRefusal(t: Test, history: History, api: Api, prefix: string): Promise<Op[]> {
  const ops = await Promise.all(Array.from({ length: 6 }, (_, i) => history.transfer(api, `caller-${i}`, mixedTransfer(`${prefix}-${i}`, i))))
  for (const op of ops) t.equal(op.first?.status, 503, `transfer of ${op.members[0]} while writes fail: ${op.first?.status} ${op.first?.detail ?? ''}`)
  return ops
}

t.test(
  'PostgreSQL read-only (default_transaction_read_only): acts are 503, nothing allowed, reads go on, recording resumes once it is writable',
  { skip: NO_CLUSTER, timeout: TEST_TIMEOUT_MS },
  async (t) => {
    const cluster = await PgCluster.create(t)
    await cluster.start()
    await cluster.sql('CREATE DATABASE app')
    const server = await startServer(t, { DATABASE_URL: cluster.url('app'), BOOTSTRAP_ADMIN_TOKEN: ADMIN })
    const api = new Api(server.url, ADMIN)
    const history = new History()
    const before = await Promise.all(Array.from({ length: 4 }, (_, i) => history.transfer(api, 'before', mixedTransfer(`RO-before-${i}`, i))))
    t.same(
      before.map((op) => op.first?.status),
      [201, 403, 201, 403],
      'transfers are recorded before the fault'
    )

    await cluster.sql('ALTER SYSTEM SET default_transaction_read_only = on')
    await cluster.sql('SELECT pg_reload_conf()')
    await waitFor(
      'the reload to apply',
      async () => (await cluster.sql<{ r: string }>("SELECT current_setting('default_transaction_read_only') AS r"))[0]?.r === 'on',
      10_000
    )
    // Every session of the pool reads the new setting before its next command.
    await sleep(200)

    const refused = await writeRefusal(t, history, api, 'RO')
    t.notOk(
      refused.some((op) => op.first?.status === 201),
      'nothing was allowed'
    )
    const reply = await api.call('POST', '/v1/transfers', allowedTransfer('RO-shape'), { 'idempotency-key': 'k-RO-shape' })
    assertUnavailable(t, reply, 'ledger_unavailable', 'a transfer on a read-only database')
    const batch = await history.batch(api, 'batch', [allowedTransfer('RO-b-0'), allowedTransfer('RO-b-1')])
    t.equal(batch.first?.status, 503, 'a batch is 503 as a whole')
    const consent = await api.call('POST', '/v1/members/RO-consent/consents', {
      recipientCategory: 'insurer',
      obtainedAt: '2026-04-01T10:00:00+09:00',
      method: 'paper',
      evidenceRef: 'form 17'
    })
    assertUnavailable(t, consent, 'ledger_unavailable', 'a consent grant on a read-only database')
    t.equal((await api.call('GET', '/v1/ledger?limit=5')).status, 200, 'reads go on')
    t.match(server.output(), /"code":"25006"/, 'the log names the cause (SQLSTATE 25006, read-only transaction)')
    t.same(
      (await storedMembers(cluster, 'app')).sort(),
      before.map((op) => op.members[0]).sort(),
      'the ledger holds exactly the acknowledged entries from before the fault'
    )

    await cluster.sql('ALTER SYSTEM RESET default_transaction_read_only')
    await cluster.sql('SELECT pg_reload_conf()')
    const resumed = await waitFor(
      'a transfer to be recorded once the database is writable',
      async () => {
        const op = await history.transfer(api, 'after', allowedTransfer(`RO-after-${history.ops.length}`))
        return op.first?.status === 201 ? op : undefined
      },
      20_000,
      250
    )
    t.equal(resumed.first?.status, 201, 'recording resumes, without a restart')
    const report = await auditLedger(t, api, history, await exportLedger(api), (m) => m.startsWith('RO-'))
    t.equal(report.committedUnanswered, 0, 'no 503 left an entry behind')
    t.equal(server.child.exitCode, null, 'the same process served throughout')
  }
)

const POSTGRES_OWNER = process.getuid?.() === 0 ? 'postgres' : undefined

/**
 * Whether this process may mount a tmpfs (root with CAP_SYS_ADMIN, as in CI's container), tried
 * once with a tiny one; the reason it cannot otherwise. No loop device, no image file: just RAM.
 */
function tmpfsUnavailable(): string | false {
  const dir = mkdtempSync(path.join(tmpdir(), 'shizenha-tmpfs-probe-'))
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', dir], { stdio: 'pipe' })
    execFileSync('umount', [dir], { stdio: 'pipe' })
    return false
  } catch (err) {
    return `cannot mount a tmpfs here (needs root with CAP_SYS_ADMIN): ${((err as { stderr?: string }).stderr ?? (err as Error).message).trim().split('\n')[0]}`
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

/** Mounts a tmpfs of `sizeMb` owned by the cluster's OS user; unmounted after the cluster is gone. */
async function mountTmpfs(t: Test, sizeMb: number): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'shizenha-tmpfs-'))
  const ids =
    POSTGRES_OWNER === undefined
      ? ''
      : `,uid=${(await run('id', ['-u', POSTGRES_OWNER])).stdout.trim()},gid=${(await run('id', ['-g', POSTGRES_OWNER])).stdout.trim()}`
  await run('mount', ['-t', 'tmpfs', '-o', `size=${sizeMb}m,mode=0700${ids}`, 'tmpfs', dir])
  // Teardowns run last-registered first: the cluster (registered later) is gone before this.
  t.teardown(async () => {
    await run('umount', ['-l', dir]).catch(() => {})
    await rm(dir, { recursive: true, force: true })
  })
  return dir
}

/** Writes a file until the filesystem has no byte left; returns its path. */
function fill(dir: string): string {
  const file = path.join(dir, 'filler')
  const fd = openSync(file, 'w')
  try {
    for (const size of [1 << 20, 1 << 12, 1]) {
      const chunk = Buffer.alloc(size, 0x55)
      for (;;) {
        try {
          writeSync(fd, chunk)
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code === 'ENOSPC') break
          throw err
        }
      }
    }
  } finally {
    closeSync(fd)
  }
  return file
}

const skipDiskFull = NO_CLUSTER || tmpfsUnavailable()

t.test(
  'the disk under the ledger fills up: 503 for every act it cannot store, every answer accounted for, recording resumes once there is room',
  { skip: skipDiskFull, timeout: TEST_TIMEOUT_MS },
  async (t) => {
    const dir = await mountTmpfs(t, 32)
    const cluster = await PgCluster.create(t)
    await cluster.start()
    // The app's database lives on the small filesystem; the WAL stays on the cluster's own disk.
    await cluster.sql(`CREATE TABLESPACE small LOCATION '${dir}'`)
    await cluster.sql('CREATE DATABASE app TABLESPACE small')
    const server = await startServer(t, { DATABASE_URL: cluster.url('app'), BOOTSTRAP_ADMIN_TOKEN: ADMIN })
    const api = new Api(server.url, ADMIN)
    const history = new History()
    const before = await Promise.all(Array.from({ length: 4 }, (_, i) => history.transfer(api, 'before', mixedTransfer(`DF-before-${i}`, i))))
    t.same(
      before.map((op) => op.first?.status),
      [201, 403, 201, 403],
      'transfers are recorded before the disk fills'
    )

    const filler = fill(dir)
    // Rows still fit into pages that have room; the first act that needs a new page fails. Send
    // one at a time until three in a row are refused (bounded).
    let refusedInARow = 0
    for (let n = 0; n < 400 && refusedInARow < 3; n++) {
      const op = await history.transfer(api, 'full', mixedTransfer(`DF-${n}`, n))
      refusedInARow = op.first?.status === 503 ? refusedInARow + 1 : 0
      t.ok([201, 403, 503].includes(op.first?.status as number), `transfer ${n} on a full disk: ${op.first?.status} ${op.first?.detail ?? ''}`)
    }
    t.equal(refusedInARow, 3, 'acts are refused once the disk is full')
    const reply = await api.call('POST', '/v1/transfers', allowedTransfer('DF-shape'), { 'idempotency-key': 'k-DF-shape' })
    assertUnavailable(t, reply, 'ledger_unavailable', 'a transfer on a full disk')
    t.match(server.output(), /"code":"53100"/, 'the log names the cause (SQLSTATE 53100, disk full)')
    const stored = new Set(await storedMembers(cluster, 'app'))
    const full = history.ops.filter((op) => op.process === 'full')
    const acknowledged = full.filter((op) => op.type === 'ok')
    const refused = full.filter((op) => op.type !== 'ok')
    t.ok(
      acknowledged.every((op) => stored.has(op.members[0]!)),
      `every 201/403 on the full disk is stored (${acknowledged.length})`
    )
    t.notOk(
      refused.some((op) => stored.has(op.members[0]!)),
      `no 503 left an entry (${refused.length})`
    )
    t.equal(stored.size, before.length + acknowledged.length, 'the ledger holds the acknowledged entries and nothing else')

    await unlink(filler)
    const resumed = await waitFor(
      'a transfer to be recorded once there is room',
      async () => {
        const op = await history.transfer(api, 'after', allowedTransfer(`DF-after-${history.ops.length}`))
        return op.first?.status === 201 ? op : undefined
      },
      20_000,
      250
    )
    t.equal(resumed.first?.status, 201, 'recording resumes, without a restart')
    const report = await auditLedger(t, api, history, await exportLedger(api), (m) => m.startsWith('DF-'))
    t.equal(report.committedUnanswered, 0, 'no 503 left an entry behind')
    t.equal(server.child.exitCode, null, 'the same process served throughout')
  }
)
