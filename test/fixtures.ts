import type { LightMyRequestResponse } from 'fastify'
import { sql } from 'kysely'
import type t from 'tap'
import { daysFrom, type TestApp } from './helper.js'

/**
 * Request bodies, registrations through the API and small assertion helpers shared by the test
 * files. helper.ts builds the apps and databases; this file only talks to them.
 */

/** The `t` a tap test callback receives. */
export type Tap = Parameters<Parameters<typeof t.test>[0]>[0]

/** A well-formed id that names nothing. */
export const UNKNOWN_ID = '00000000-0000-4000-8000-000000000000'

export interface Reason {
  code: string
  clause: string
  message: string
}

/** The reason codes of a decision, sorted. */
export const codes = (body: { reasons: Reason[] }) => body.reasons.map((r) => r.code).sort()

/** Where a ledger write landed, as answers name it. */
export interface EntryRef {
  id: string
  chain: number
  seq: number
  hash: string
  recordedAt: string
}

// ---------------------------------------------------------------------------------------------
// Request bodies

export function recipientBody(overrides: Record<string, unknown> = {}) {
  return { category: 'financial_institution', name: 'Shizenha Bank', address: '1-2-3 Aoi, Shizuoka', representative: 'Taro Ginko', ...overrides }
}

export function consentBody(overrides: Record<string, unknown> = {}) {
  return { recipientCategory: 'financial_institution', obtainedAt: daysFrom(-1), method: 'paper', evidenceRef: 'form-2024-0001', ...overrides }
}

export function contractBody(overrides: Record<string, unknown> = {}) {
  return {
    reference: 'C-2024-001',
    signedAt: daysFrom(-31),
    validFrom: daysFrom(-30),
    validUntil: daysFrom(335),
    purposes: ['delivery'],
    dataItems: ['name', 'address', 'phone'],
    ...overrides
  }
}

export function inspectionBody(overrides: Record<string, unknown> = {}) {
  return { inspectedAt: daysFrom(-10), result: 'passed', inspector: 'Hanako Kansa', ...overrides }
}

/** Billing through a bank: allowed once the member's consent for financial institutions is on record. */
export function billing(memberId: string, recipientId: string) {
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

/** Joint use with JCCU: allowed without any setup. */
export function jointUse(memberId: string, purpose = 'ordering') {
  return { channel: 'joint_use', memberId, purpose, serviceCategory: 'joint_purchasing', dataItems: ['name', 'address'], jointUser: 'JCCU' }
}

/** A statutory exception (legal obligation): allowed without any setup. */
export function statutoryException(memberId: string) {
  return {
    channel: 'statutory_exception',
    memberId,
    purpose: 'billing',
    serviceCategory: 'joint_purchasing',
    dataItems: ['name', 'address'],
    exception: { basis: 'legal_obligation', reference: 'tax office inquiry 17', approvedBy: 'privacy manager' }
  }
}

// ---------------------------------------------------------------------------------------------
// Registrations through the API: each throws unless the answer is 201.

async function created<T>(res: Promise<LightMyRequestResponse>, what: string): Promise<T> {
  const r = await res
  if (r.statusCode !== 201) throw new Error(`${what} failed: ${r.statusCode} ${r.body}`)
  return r.json<T>()
}

export function createRecipient(test: TestApp, overrides: Record<string, unknown> = {}) {
  return created<{ id: string; category: string; name: string; active: boolean }>(
    test.request({ method: 'POST', url: '/v1/recipients', payload: recipientBody(overrides) }),
    'recipient registration'
  )
}

export function grantConsent(test: TestApp, memberId: string, overrides: Record<string, unknown> = {}) {
  return created<{ id: string; entry: EntryRef }>(
    test.request({ method: 'POST', url: `/v1/members/${memberId}/consents`, payload: consentBody(overrides) }),
    'consent'
  )
}

export function createContractor(test: TestApp, name = 'Delivery Co.') {
  return created<{ id: string; name: string }>(
    test.request({ method: 'POST', url: '/v1/contractors', payload: { name, address: '4-5-6 Suruga, Shizuoka' } }),
    'contractor registration'
  )
}

export function addContract(test: TestApp, contractorId: string, overrides: Record<string, unknown> = {}) {
  return created<{ id: string }>(
    test.request({ method: 'POST', url: `/v1/contractors/${contractorId}/contracts`, payload: contractBody(overrides) }),
    'contract'
  )
}

export function addInspection(test: TestApp, contractorId: string, overrides: Record<string, unknown> = {}) {
  return created<{ id: string }>(
    test.request({ method: 'POST', url: `/v1/contractors/${contractorId}/inspections`, payload: inspectionBody(overrides) }),
    'inspection'
  )
}

// ---------------------------------------------------------------------------------------------
// The ledger and problem answers

/** Rows in ledger_entries, of one member or of all. */
export async function countEntries(test: TestApp, memberId?: string): Promise<number> {
  const query =
    memberId === undefined
      ? sql<{ n: number | string }>`SELECT count(*) AS n FROM ledger_entries`
      : sql<{ n: number | string }>`SELECT count(*) AS n FROM ledger_entries WHERE member_id = ${memberId}`
  return Number((await query.execute(test.database.db)).rows[0]!.n)
}

/** Every ledger entry of a member, following the cursor page by page. */
export async function memberEntries<T = Record<string, any>>(test: TestApp, memberId: string): Promise<T[]> {
  const all: T[] = []
  let cursor: string | null = null
  do {
    const res: LightMyRequestResponse = await test.request({
      method: 'GET',
      url: `/v1/ledger?memberId=${memberId}&limit=500${cursor ? `&cursor=${cursor}` : ''}`
    })
    if (res.statusCode !== 200) throw new Error(`ledger listing failed: ${res.statusCode} ${res.body}`)
    const page = res.json()
    all.push(...page.entries)
    cursor = page.nextCursor
  } while (cursor)
  return all
}

export function isProblem(res: LightMyRequestResponse): boolean {
  return String(res.headers['content-type'] ?? '').startsWith('application/problem+json')
}

type Asserts = Pick<typeof t, 'equal' | 'match' | 'type' | 'ok' | 'same'>

/** Four assertions that a check answered 200 with a deny for exactly `expectedCodes`, the first on `clause`. */
export function assertDenied(t: Asserts, res: { statusCode: number; json: () => any }, expectedCodes: string[], clause: string) {
  t.equal(res.statusCode, 200)
  const body = res.json()
  t.equal(body.decision, 'deny')
  t.same(codes(body), expectedCodes)
  t.equal(body.reasons[0].clause, clause)
  return body
}

/** Six assertions that `res` is an RFC 9457 problem of `status`; returns the problem. */
export function assertProblem(t: Asserts, res: { statusCode: number; headers: Record<string, unknown>; json: () => any }, status: number, label = '') {
  const prefix = label ? `${label}: ` : ''
  t.equal(res.statusCode, status, `${prefix}status ${status}`)
  t.match(String(res.headers['content-type']), /^application\/problem\+json/, `${prefix}problem+json content type`)
  const body = res.json()
  t.equal(body.status, status, `${prefix}problem status member`)
  t.type(body.type, 'string', `${prefix}problem type`)
  t.type(body.title, 'string', `${prefix}problem title`)
  t.type(body.detail, 'string', `${prefix}problem detail`)
  return body
}
