/**
 * Soak run (not part of CI): N minutes of mixed load against the real server on a throwaway
 * PostgreSQL cluster, with a database restart in the middle. Reports the server's memory (RSS)
 * over time, answers by status for every kind of call, and at the end audits the ledger: every
 * acknowledged write looked up, every indeterminate transfer retried with its key, the chains
 * checked and GET /v1/ledger/verify.
 *
 *   npm run soak                       # 10 minutes
 *   npm run soak -- --minutes 2 --concurrency 16 --restart immediate
 *
 * Exits 1 when the audit finds a problem or the server died. Needs the PostgreSQL server binaries
 * (/usr/lib/postgresql/<version>/bin); the shared server is never touched.
 */
import { randomUUID } from 'node:crypto'
import { isDeepStrictEqual, parseArgs } from 'node:util'
import { Api, History, auditLedger, exportLedger, mixedTransfer, sleep, waitFor, type Asserter, type Op } from '../test/support/history.js'
import { PgCluster, postgresBinDir } from '../test/support/pg-cluster.js'
import { rssKiB, startServer } from '../test/support/server-process.js'

const ADMIN = `soak-admin-${randomUUID()}`
const MEMBERS = 200
const RECIPIENTS = 5

const { values: args } = parseArgs({
  options: {
    minutes: { type: 'string', default: '10' },
    concurrency: { type: 'string', default: '16' },
    /** How PostgreSQL goes down midway: `fast` (a clean restart) or `immediate` (a crash). */
    restart: { type: 'string', default: 'immediate' },
    'outage-seconds': { type: 'string', default: '5' }
  }
})
const MINUTES = Number(args.minutes)
const CONCURRENCY = Number(args.concurrency)
const RESTART = args.restart as 'fast' | 'immediate'
const OUTAGE_MS = Number(args['outage-seconds']) * 1000
if (!(MINUTES > 0) || !(CONCURRENCY >= 1) || !['fast', 'immediate'].includes(RESTART) || !(OUTAGE_MS >= 0)) {
  process.stderr.write('usage: npm run soak -- [--minutes 10] [--concurrency 16] [--restart immediate|fast] [--outage-seconds 5]\n')
  process.exit(64)
}
const DURATION_MS = MINUTES * 60_000
/** About 20 memory samples per run, at least 5 s apart. */
const SAMPLE_MS = Math.max(5000, Math.round(DURATION_MS / 20))

/** The Teardown PgCluster and startServer expect from a tap test: run in reverse at the end. */
class Teardowns {
  private readonly fns: (() => unknown)[] = []
  teardown(fn: () => unknown): void {
    this.fns.push(fn)
  }
  async run(): Promise<void> {
    for (const fn of this.fns.splice(0).reverse()) await Promise.resolve(fn()).catch((err: unknown) => log(`teardown: ${String(err)}`))
  }
}

/** Assertions for the shared audit, outside tap: each failure is printed and counted. */
class Checks {
  failures = 0
  private note(pass: boolean, message: string | undefined, detail?: unknown): boolean {
    log(`${pass ? 'ok' : 'FAILED'}: ${message ?? ''}${pass || detail === undefined ? '' : ` ${JSON.stringify(detail).slice(0, 2000)}`}`)
    if (!pass) this.failures++
    return pass
  }
  same(found: unknown, wanted: unknown, message?: string): boolean {
    return this.note(isDeepStrictEqual(found, wanted), message, { found, wanted })
  }
  equal(found: unknown, wanted: unknown, message?: string): boolean {
    return this.note(found === wanted, message, { found, wanted })
  }
  ok(value: unknown, message?: string): boolean {
    return this.note(Boolean(value), message)
  }
  comment(...message: unknown[]): void {
    log(message.join(' '))
  }
}

const started = Date.now()
function log(line: string): void {
  process.stdout.write(`[${((Date.now() - started) / 1000).toFixed(1).padStart(6)} s] ${line}\n`)
}

function pick<T>(items: readonly T[]): T {
  return items[Math.floor(Math.random() * items.length)]!
}

function mib(kib: number | undefined): string {
  return kib === undefined ? 'gone' : `${(kib / 1024).toFixed(1)} MiB`
}

async function main(): Promise<void> {
  if (postgresBinDir() === undefined) throw new Error('no PostgreSQL server binaries under /usr/lib/postgresql')
  const teardowns = new Teardowns()
  const checks = new Checks()
  const onSignal = () => void teardowns.run().then(() => process.exit(130))
  process.once('SIGINT', onSignal)
  process.once('SIGTERM', onSignal)
  try {
    const cluster = await PgCluster.create(teardowns)
    await cluster.start()
    await cluster.sql('CREATE DATABASE app')
    const server = await startServer(teardowns, { DATABASE_URL: cluster.url('app'), BOOTSTRAP_ADMIN_TOKEN: ADMIN, LOG_LEVEL: 'warn' })
    log(
      `server pid ${server.pid} at ${server.url}; PostgreSQL ${cluster.binDir} on port ${cluster.port}; ${MINUTES} min, ${CONCURRENCY} callers, restart: ${RESTART}`
    )
    const api = new Api(server.url, ADMIN)
    const history = new History()
    /** Calls that record nothing (checks, reads), by kind and status. */
    const other: Record<string, number> = {}
    const count = (label: string) => (other[label] = (other[label] ?? 0) + 1)

    const recipients: string[] = []
    for (let i = 0; i < RECIPIENTS; i++) {
      const reply = await api.call('POST', '/v1/recipients', {
        category: 'financial_institution',
        name: `Soak Bank ${i}`,
        address: `${i}-1 Aoi, Shizuoka`,
        representative: 'Taro Ginko'
      })
      if (reply.status !== 201) throw new Error(`registering a recipient: ${reply.status} ${reply.text}`)
      recipients.push((reply.body as { id: string }).id)
    }
    const members = Array.from({ length: MEMBERS }, (_, i) => `SO-p-${i}`)
    /** Consents granted and not yet withdrawn, to withdraw later. */
    const consents: { memberId: string; consentId: string }[] = []
    const recorded: Op[] = []
    let n = 0
    const unique = () => `SO-u-${n++}`

    const actions: [number, (worker: number) => Promise<void>][] = [
      [
        20,
        async () => {
          const reply = await api.call('POST', '/v1/checks', { ...pick([mixedTransfer(pick(members), 0), billing(pick(members), pick(recipients))]) })
          count(`check ${reply.status}`)
        }
      ],
      [
        25,
        async (worker) => {
          const memberId = unique()
          recorded.push(await history.transfer(api, `caller-${worker}`, mixedTransfer(memberId, n)))
        }
      ],
      [
        10,
        async (worker) => {
          // Billing through a bank: allowed when the member's consent is on record, else denied.
          const memberId = pick(members)
          recorded.push(await history.transfer(api, `caller-${worker}`, billing(memberId, pick(recipients)), `k-${memberId}-${randomUUID()}`))
        }
      ],
      [
        3,
        async (worker) => {
          const items = Array.from({ length: 20 + Math.floor(Math.random() * 81) }, (_, i) => mixedTransfer(unique(), i))
          recorded.push(await history.batch(api, `caller-${worker}`, items))
        }
      ],
      [
        8,
        async (worker) => {
          const memberId = pick(members)
          const body = {
            recipientCategory: 'financial_institution',
            obtainedAt: new Date(Date.now() - 86_400_000).toISOString(),
            method: 'paper',
            evidenceRef: `soak-${randomUUID()}`
          }
          const op = await history.invoke(
            api,
            `caller-${worker}`,
            'consent_granted',
            [memberId],
            { method: 'POST', path: `/v1/members/${memberId}/consents`, body, idempotencyKey: `c-${randomUUID()}` },
            undefined,
            (r) => (r.body as { id?: string } | undefined)?.id
          )
          if (op.type === 'ok') consents.push({ memberId, consentId: op.first!.kept as string })
          recorded.push(op)
        }
      ],
      [
        4,
        async (worker) => {
          const consent = consents.splice(Math.floor(Math.random() * consents.length), 1)[0]
          if (consent === undefined) return
          const path = `/v1/members/${consent.memberId}/consents/${consent.consentId}/withdraw`
          recorded.push(
            await history.invoke(api, `caller-${worker}`, 'consent_withdrawn', [consent.memberId], {
              method: 'POST',
              path,
              body: { reason: 'soak' },
              idempotencyKey: `w-${randomUUID()}`
            })
          )
        }
      ],
      [
        30,
        async () => {
          const acknowledged = recorded.length > 0 ? pick(recorded.slice(-500)) : undefined
          const entry = acknowledged?.type === 'ok' ? acknowledged.first!.entries![0] : undefined
          const path = pick([
            `/v1/ledger?memberId=${pick(members)}&limit=20`,
            '/v1/ledger?limit=50',
            entry ? `/v1/ledger/${entry.id}` : '/v1/ledger?limit=1',
            `/v1/members/${pick(members)}/consents`
          ])
          const reply = await api.call('GET', path)
          count(`read ${reply.status}`)
        }
      ]
    ]
    const totalWeight = actions.reduce((sum, [w]) => sum + w, 0)
    const choose = () => {
      let r = Math.random() * totalWeight
      for (const [w, action] of actions) if ((r -= w) < 0) return action
      return actions[0]![1]
    }

    const samples: { at: number; rss: number | undefined; calls: number }[] = []
    const calls = () => history.ops.length + Object.values(other).reduce((a, b) => a + b, 0)
    const sample = () => {
      const rss = rssKiB(server.pid)
      samples.push({ at: Date.now() - started, rss, calls: calls() })
      log(`rss ${mib(rss)}, ${calls()} calls so far (${history.indeterminate().length} recorded acts indeterminate)`)
    }
    sample()
    const sampler = setInterval(sample, SAMPLE_MS)

    let stop = false
    const deadline = Date.now() + DURATION_MS
    const workers = Array.from({ length: CONCURRENCY }, async (_, worker) => {
      while (!stop && Date.now() < deadline) {
        try {
          await choose()(worker)
        } catch (err) {
          count(`network ${(err as Error).message.slice(0, 60)}`)
          await sleep(200)
        }
      }
    })

    // The database goes away midway, for OUTAGE_MS, and comes back; nothing is restarted but it.
    await sleep(DURATION_MS / 2)
    log(`PostgreSQL stops (${RESTART})`)
    const stoppedAt = Date.now()
    await cluster.stop(RESTART)
    const readyDuring = (await fetch(`${server.url}/readyz`)).status
    await sleep(OUTAGE_MS)
    await cluster.start()
    await waitFor('/readyz 200', async () => (await fetch(`${server.url}/readyz`)).status === 200, 120_000, 100)
    log(`PostgreSQL is back; /readyz was ${readyDuring} during the outage, 200 again ${((Date.now() - stoppedAt) / 1000).toFixed(1)} s after the stop`)
    checks.equal(readyDuring, 503, '/readyz was 503 while PostgreSQL was down')

    await Promise.all(workers)
    stop = true
    clearInterval(sampler)
    sample()
    const alive = server.child.exitCode === null && server.child.signalCode === null
    checks.ok(alive, 'the server process ran throughout')

    log(`answers of recorded acts: ${JSON.stringify(history.counts())}`)
    log(`answers of other calls: ${JSON.stringify(Object.fromEntries(Object.entries(other).sort()))}`)
    log('memory (server RSS) over time:')
    for (const s of samples) log(`  ${(s.at / 1000).toFixed(0).padStart(5)} s  ${mib(s.rss).padStart(10)}  ${String(s.calls).padStart(8)} calls`)
    const warm = samples.find((s) => s.at >= 60_000) ?? samples[1] ?? samples[0]!
    const last = samples.at(-1)!
    if (warm.rss !== undefined && last.rss !== undefined)
      log(
        `RSS from ${mib(warm.rss)} at ${(warm.at / 1000).toFixed(0)} s to ${mib(last.rss)} at the end (${(((last.rss - warm.rss) / warm.rss) * 100).toFixed(1)} %)`
      )

    log('audit: retrying indeterminate transfers, batches and consent acts with their keys, then checking the ledger')
    const before = await exportLedger(api)
    await auditLedger(checks as unknown as Asserter, api, history, before, (member) => member.startsWith('SO-u-'), { lookUpLimit: 5000 })
    const acts = history.acknowledged().filter((op) => op.f.startsWith('consent')).length
    log(
      `(every acknowledged entry, those of ${acts} consent grants and withdrawals included, was compared with the ledger's complete listing; the sample above was also read back one by one)`
    )
    log(
      `${checks.failures === 0 ? 'PASSED' : `FAILED (${checks.failures})`}: ${history.ops.length} recorded acts, ${calls() - history.ops.length} other calls in ${((Date.now() - started) / 60_000).toFixed(1)} min`
    )
    process.exitCode = checks.failures === 0 ? 0 : 1
  } finally {
    await teardowns.run()
  }
}

/** Billing through a bank: allowed once the member's consent for financial institutions is on record. */
function billing(memberId: string, recipientId: string) {
  return {
    channel: 'third_party',
    memberId,
    purpose: 'billing',
    serviceCategory: 'joint_purchasing',
    dataItems: ['name', 'bank_account', 'billing_amount'],
    recipientId,
    method: 'electronic'
  }
}

main().catch((err: unknown) => {
  log(`soak failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`)
  process.exit(1)
})
