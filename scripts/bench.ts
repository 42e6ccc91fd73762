// Measures decision and ledger throughput, each beside a baseline run in the same process, and
// prints figures and ratios. On PGlite by default; set DATABASE_URL to measure PostgreSQL.
//   npm run bench
import { performance } from 'node:perf_hooks'
import { buildApp } from '../src/app.js'
import { loadConfig } from '../src/config.js'
import { Database } from '../src/db/database.js'
import { createLogger } from '../src/logger.js'
import { decide, type DecisionRequest, type Facts } from '../src/policy/engine.js'
import { noticeV1 } from '../src/policy/notice-v1.js'

const TOKEN = 'bench-admin-token-0123456789'

async function timed(label: string, count: number, work: (i: number) => Promise<unknown> | unknown): Promise<number> {
  const start = performance.now()
  for (let i = 0; i < count; i += 1) await work(i)
  const seconds = (performance.now() - start) / 1000
  const rate = count / seconds
  process.stdout.write(`${label.padEnd(52)} ${String(count).padStart(6)} ops  ${rate.toFixed(0).padStart(9)} ops/s\n`)
  return rate
}

async function main(): Promise<void> {
  const now = new Date()
  const request: DecisionRequest = {
    channel: 'third_party',
    memberId: 'M-000001',
    purpose: 'billing',
    serviceCategory: 'joint_purchasing',
    dataItems: ['name', 'bank_account', 'billing_amount'],
    recipientId: '00000000-0000-4000-8000-000000000001',
    method: 'electronic'
  }
  const facts: Facts = {
    recipient: { id: request.recipientId!, category: 'financial_institution', name: 'Bank', address: 'Osaka', representative: 'Rep', active: true },
    consents: [{ id: 'c', recipientCategory: 'financial_institution', recipientId: null, dataItems: null, obtainedAt: new Date(0), method: 'paper', withdrawnAt: null }],
    suspended: false
  }

  process.stdout.write('engine (pure, in memory)\n')
  const baseline = await timed('  baseline: structuredClone(request)', 200_000, () => structuredClone(request))
  const engine = await timed('  decide() third_party allow', 200_000, () => decide(request, noticeV1, facts, now))
  process.stdout.write(`  ratio decide / clone: ${(baseline / engine).toFixed(2)}x the cost\n\n`)

  const config = loadConfig({ ...process.env, BOOTSTRAP_ADMIN_TOKEN: TOKEN, LOG_LEVEL: 'silent', RATE_LIMIT_MAX: '100000000' })
  const database = await Database.open({ url: config.databaseUrl, dataDir: 'memory://', schema: config.databaseUrl ? 'bench' : 'public', poolSize: 10 })
  const app = await buildApp({ config, database, logger: createLogger(config, { write: () => {} }) })
  const headers = { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' }
  const recipient = await app.inject({ method: 'POST', url: '/v1/recipients', headers, payload: { category: 'financial_institution', name: 'Bank', address: 'Osaka', representative: 'Rep' } })
  const recipientId = recipient.json().id as string
  const body = (i: number) => ({ ...request, memberId: `M-${String(i % 500).padStart(6, '0')}`, recipientId })
  for (let i = 0; i < 500; i += 1) {
    await app.inject({ method: 'POST', url: `/v1/members/${body(i).memberId}/consents`, headers, payload: { recipientCategory: 'financial_institution', obtainedAt: '2026-01-01T00:00:00Z', method: 'web', evidenceRef: 'bench' } })
  }

  process.stdout.write(`HTTP through inject, on ${database.kind}\n`)
  const health = await timed('  baseline: GET /healthz', 2000, () => app.inject({ method: 'GET', url: '/healthz' }))
  const checks = await timed('  POST /v1/checks (evaluate only)', 2000, (i) => app.inject({ method: 'POST', url: '/v1/checks', headers, payload: body(i) }))
  const transfers = await timed('  POST /v1/transfers (decide + append, sequential)', 2000, (i) => app.inject({ method: 'POST', url: '/v1/transfers', headers, payload: body(i) }))
  const concurrent = await timed('  POST /v1/transfers, 20 in flight (per op)', 100, (i) =>
    Promise.all(Array.from({ length: 20 }, (_, j) => app.inject({ method: 'POST', url: '/v1/transfers', headers, payload: body(i * 20 + j) })))
  )
  const batches = await timed('  POST /v1/transfers/batch of 100 (per batch)', 20, (i) =>
    app.inject({ method: 'POST', url: '/v1/transfers/batch', headers, payload: { items: Array.from({ length: 100 }, (_, j) => body(i * 100 + j)) } })
  )
  process.stdout.write(`  ratio healthz / check:     ${(health / checks).toFixed(2)}x\n`)
  process.stdout.write(`  ratio check / transfer:    ${(checks / transfers).toFixed(2)}x (the cost of recording)\n`)
  process.stdout.write(`  transfers/s with 20 in flight: ${(concurrent * 20).toFixed(0)} (${((concurrent * 20) / transfers).toFixed(2)}x sequential)\n`)
  process.stdout.write(`  transfers/s in batches of 100: ${(batches * 100).toFixed(0)} (${((batches * 100) / transfers).toFixed(2)}x single)\n`)
  const verify = await app.inject({ method: 'GET', url: '/v1/ledger/verify', headers })
  process.stdout.write(`  ledger verifies: ${verify.json().ok} (${verify.json().entriesChecked} entries)\n`)
  await app.close()
  if (config.databaseUrl) {
    const pg = await import('pg')
    const client = new pg.default.Client({ connectionString: config.databaseUrl })
    await client.connect()
    await client.query('DROP SCHEMA IF EXISTS bench CASCADE')
    await client.end()
  }
}

await main()
