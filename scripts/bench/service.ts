import path from 'node:path'
import type { BenchDatabase } from './database.js'
import { expectStatus, httpRequest } from './http.js'
import { Child, freePort } from './proc.js'

/** The bootstrap admin's bearer token in the bench database (it exists only there). */
export const TOKEN = 'bench-admin-token-0123456789abcdef'
export const AUTH = { authorization: `Bearer ${TOKEN}` } as const

export interface RunningService {
  readonly child: Child
  readonly base: string
}

/**
 * Starts the service of `serviceDir` from source as its own process, on a free loopback port,
 * and waits until /readyz says it is migrated and reachable. Only the environment is shared
 * with it, so whatever its internals become, this keeps working.
 */
export async function startService(options: {
  serviceDir: string
  database: BenchDatabase
  poolSize: number
  nodeArgs?: readonly string[]
}): Promise<RunningService> {
  const port = await freePort()
  const env: NodeJS.ProcessEnv = { ...process.env }
  delete env.DATABASE_URL
  delete env.DATA_DIR
  Object.assign(env, options.database.serviceEnv, {
    PORT: String(port),
    HOST: '127.0.0.1',
    BOOTSTRAP_ADMIN_TOKEN: TOKEN,
    LOG_LEVEL: 'warn',
    // The per-client limit (if the tree still has one) would turn the load into 429s.
    RATE_LIMIT_MAX: '1000000000',
    DATABASE_POOL_SIZE: String(options.poolSize)
  })
  const child = Child.start('service', path.join('src', 'server.ts'), { cwd: options.serviceDir, env, nodeArgs: options.nodeArgs ?? [] })
  const base = `http://127.0.0.1:${port}`
  await child.ready(`${base}/readyz`)
  return { child, base }
}

/** What the load needs to exist in the service first, all made through its API. */
export interface Fixtures {
  readonly recipientId: string
  /** Members with a consent to financial_institution provision, so their transfers are allowed. */
  readonly members: readonly string[]
  /** The member whose entries are the fill's templates, and the ids to replace in them. */
  readonly templateMember: string
  readonly templateConsentId: string
}

export const TEMPLATE_MEMBER = 'BenchTemplateMember'

export function transferBody(
  fixtures: Pick<Fixtures, 'recipientId'>,
  memberId: string,
  dataItems: readonly string[] = ['name', 'bank_account', 'billing_amount']
) {
  return {
    channel: 'third_party',
    memberId,
    purpose: 'billing',
    serviceCategory: 'joint_purchasing',
    dataItems,
    recipientId: fixtures.recipientId,
    method: 'electronic'
  }
}

function grantConsent(base: string, memberId: string) {
  return expectStatus(201, 'POST', `${base}/v1/members/${memberId}/consents`, {
    headers: AUTH,
    body: { recipientCategory: 'financial_institution', obtainedAt: '2026-01-01T09:00:00+09:00', method: 'web', evidenceRef: 'bench-consent-form-0001' }
  })
}

/** Runs `work` over `items` with at most `limit` in flight. */
async function pool<T>(items: readonly T[], limit: number, work: (item: T) => Promise<unknown>): Promise<void> {
  let next = 0
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) await work(items[next++]!)
    })
  )
}

export async function createFixtures(base: string, memberCount: number): Promise<Fixtures> {
  const recipient = await expectStatus(201, 'POST', `${base}/v1/recipients`, {
    headers: AUTH,
    body: { category: 'financial_institution', name: '自然派銀行 ベンチ支店', address: '大阪府大阪市北区梅田1-1-1', representative: '代表取締役 試験 太郎' }
  })
  const recipientId = recipient.json<{ id: string }>().id
  const members = Array.from({ length: memberCount }, (_, i) => `M-B${String(i).padStart(6, '0')}`)
  await pool(members, 16, (m) => grantConsent(base, m))
  const consent = await grantConsent(base, TEMPLATE_MEMBER)
  // An allow and a deny (a sensitive item never leaves through third_party), as real traffic has both.
  await expectStatus(201, 'POST', `${base}/v1/transfers`, { headers: AUTH, body: transferBody({ recipientId }, TEMPLATE_MEMBER) })
  await expectStatus(403, 'POST', `${base}/v1/transfers`, { headers: AUTH, body: transferBody({ recipientId }, TEMPLATE_MEMBER, ['name', 'health_care']) })
  return { recipientId, members, templateMember: TEMPLATE_MEMBER, templateConsentId: consent.json<{ id: string }>().id }
}

/** What the service sends for one check: the headers and body the (a′) baseline sends back verbatim. */
export interface CheckAnswer {
  readonly headers: Record<string, string>
  readonly body: string
}

/** Set per connection or per answer by Node itself; the baseline's own server sets them. */
const TRANSPORT_HEADERS = new Set(['date', 'connection', 'keep-alive', 'content-length', 'transfer-encoding'])

export async function readCheckAnswer(base: string, fixtures: Fixtures): Promise<CheckAnswer> {
  const res = await expectStatus(200, 'POST', `${base}/v1/checks`, { headers: AUTH, body: transferBody(fixtures, fixtures.members[0]!) })
  const headers: Record<string, string> = {}
  for (const [name, value] of Object.entries(res.headers)) if (!TRANSPORT_HEADERS.has(name) && typeof value === 'string') headers[name] = value
  return { headers, body: res.text }
}

/** Entry contents (without `hash`) exactly as the service wrote them, read back over its API. */
export interface Templates {
  readonly consent: Record<string, unknown>
  readonly allow: Record<string, unknown>
  readonly deny: Record<string, unknown>
}

export async function readTemplates(base: string, memberId: string): Promise<Templates> {
  const res = await expectStatus(200, 'GET', `${base}/v1/ledger?memberId=${memberId}&limit=50`, { headers: AUTH })
  const entries = res.json<{ entries: Record<string, unknown>[] }>().entries
  const pick = (test: (e: Record<string, unknown>) => boolean, what: string) => {
    const entry = entries.find(test)
    if (!entry) throw new Error(`the template member has no ${what} entry`)
    const { hash: _hash, ...content } = entry
    return content
  }
  return {
    consent: pick((e) => e.kind === 'consent_granted', 'consent_granted'),
    allow: pick((e) => e.kind === 'decision' && e.decision === 'allow', 'allowed decision'),
    deny: pick((e) => e.kind === 'decision' && e.decision === 'deny', 'denied decision')
  }
}

/** One request, timed, for figures that are a single long call (verify). */
export async function timedGet(url: string): Promise<{ status: number; body: unknown; seconds: number }> {
  const t0 = performance.now()
  const res = await httpRequest('GET', url, { headers: AUTH, timeoutMs: 0 })
  return { status: res.status, body: res.status === 200 ? res.json() : res.text, seconds: (performance.now() - t0) / 1000 }
}
