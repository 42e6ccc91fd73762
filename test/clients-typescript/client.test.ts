import type { AddressInfo } from 'node:net'
import { sql } from 'kysely'
import t from 'tap'
import { ProblemError } from '../../clients/typescript/src/errors.js'
import type { DecisionRequest } from '../../clients/typescript/src/types.js'
import { billing, countEntries, createRecipient, grantConsent, jointUse, type Tap } from '../fixtures.js'
import { ADMIN_TOKEN, buildTestApp, createClient, type TestApp } from '../helper.js'
import { clientInstalled, INSTALL_HINT, loadClient, type ClientModule } from './load-client.js'

/** What went over the wire: method, path, Idempotency-Key and the status that came back. */
interface Sent {
  method: string
  path: string
  idempotencyKey: string | null
  status: number
}

async function listen(test: TestApp): Promise<string> {
  await test.app.listen({ port: 0, host: '127.0.0.1' })
  return `http://127.0.0.1:${(test.app.server.address() as AddressInfo).port}`
}

/** A fetch that records every request it sends. */
function recordingFetch(sent: Sent[]) {
  return async (request: Request) => {
    const response = await fetch(request)
    sent.push({ method: request.method, path: new URL(request.url).pathname, idempotencyKey: request.headers.get('idempotency-key'), status: response.status })
    return response
  }
}

const asRequest = (body: Record<string, unknown>) => body as unknown as DecisionRequest

/**
 * The ledger refuses its next insert once, so a call fails with 503 and its retry succeeds: a
 * counter outside the transaction (a sequence survives the rollback) fails only the first try.
 */
async function failNextLedgerInsert(t: Tap, test: TestApp, name: string): Promise<void> {
  const db = test.database.db
  await sql.raw(`CREATE SEQUENCE ${name}_failures`).execute(db)
  await sql
    .raw(
      `CREATE FUNCTION ${name}_fail_once() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN IF nextval('${name}_failures') = 1 THEN RAISE EXCEPTION 'refused once'; END IF; RETURN NEW; END $$`
    )
    .execute(db)
  await sql.raw(`CREATE TRIGGER ${name}_fail_once BEFORE INSERT ON ledger_entries FOR EACH ROW EXECUTE FUNCTION ${name}_fail_once()`).execute(db)
  t.teardown(() => sql.raw(`DROP TRIGGER IF EXISTS ${name}_fail_once ON ledger_entries`).execute(db))
}

t.test('the TypeScript client against the running service', async (t) => {
  if (!clientInstalled()) return t.fail(INSTALL_HINT)
  const { createDataSharingClient, unwrap }: ClientModule = await loadClient()
  const test = await buildTestApp(t)
  const baseUrl = await listen(test)
  const bank = (await createRecipient(test)).id
  await grantConsent(test, 'M-client-1')
  const system = await createClient(test, { name: 'billing system', role: 'system', channels: ['third_party', 'joint_use'] })
  const sent: Sent[] = []
  const waits: number[] = []
  const client = createDataSharingClient({
    baseUrl,
    token: system.token,
    fetch: recordingFetch(sent),
    sleep: async (ms) => {
      waits.push(ms)
    }
  })

  t.test('a check: evaluated, nothing recorded', async (t) => {
    const before = await countEntries(test)
    const decision = await client.check(asRequest(billing('M-client-1', bank)))
    t.equal(decision.decision, 'allow')
    t.notOk(decision.entry, 'a check has no entry')
    t.equal(await countEntries(test), before)
  })

  t.test('a transfer: 201 allow with its entry, under a generated Idempotency-Key', async (t) => {
    sent.length = 0
    const decision = await client.transfer(asRequest(billing('M-client-1', bank)))
    t.equal(decision.decision, 'allow')
    t.match(decision.entry, { id: String, seq: Number, hash: /^[0-9a-f]{64}$/ })
    t.equal(sent.length, 1)
    t.equal(sent[0]!.status, 201)
    t.match(sent[0]!.idempotencyKey, /^[0-9a-f-]{36}$/, 'a UUID key was sent')
  })

  t.test('a deny (403) is an answer, not an error', async (t) => {
    const decision = await client.transfer(asRequest({ ...billing('M-client-2', bank) }))
    t.equal(decision.decision, 'deny')
    t.ok(
      decision.reasons.some((r) => r.code === 'consent_missing'),
      'names the missing consent'
    )
    t.ok(decision.entry, 'the deny is recorded')
  })

  t.test('a request outside the client scope is a ProblemError carrying client_scope and its entry', async (t) => {
    const jointOnly = await createClient(test, { role: 'system', channels: ['joint_use'] })
    const error = await createDataSharingClient({ baseUrl, token: jointOnly.token })
      .transfer(asRequest(billing('M-client-1', bank)))
      .catch((e: unknown) => e)
    t.ok(error instanceof ProblemError, 'a ProblemError')
    const problem = error as ProblemError
    t.equal(problem.status, 403)
    t.equal(problem.code, 'client_scope')
    t.type(problem.detail, 'string')
    t.match(problem.entry, { id: String, hash: /^[0-9a-f]{64}$/ }, 'the refused attempt was recorded')
  })

  t.test('a validation error carries its field errors', async (t) => {
    const error = await client.check(asRequest({ ...jointUse('M-client-1'), jointUser: undefined })).catch((e: unknown) => e)
    t.ok(error instanceof ProblemError)
    const problem = error as ProblemError
    t.equal(problem.status, 400)
    t.equal(problem.code, 'validation_failed')
    t.ok(problem.errors.length > 0, 'names the offending fields')
    t.type(problem.detail, 'string')
  })

  t.test('a batch: one decision per item, in order', async (t) => {
    const results = await client.transferBatch([asRequest(jointUse('M-client-3')), asRequest(billing('M-client-4', bank))])
    t.same(
      results.map((r) => r.decision),
      ['allow', 'deny']
    )
    t.ok(
      results.every((r) => r.entry),
      'each recorded'
    )
  })

  t.test('a transfer retried after a 503: the same Idempotency-Key, one ledger entry', async (t) => {
    await grantConsent(test, 'M-client-5')
    await failNextLedgerInsert(t, test, 'client_transfer')

    sent.length = 0
    waits.length = 0
    const before = await countEntries(test, 'M-client-5')
    const decision = await client.transfer(asRequest(billing('M-client-5', bank)))
    t.equal(decision.decision, 'allow', 'the retry was decided and allowed')
    t.same(
      sent.map((s) => s.status),
      [503, 201],
      'one 503, then 201'
    )
    t.equal(sent[0]!.idempotencyKey, sent[1]!.idempotencyKey, 'the same Idempotency-Key on the retry')
    t.ok(sent[0]!.idempotencyKey, 'a key was sent')
    t.equal(waits.length, 1)
    t.ok(waits[0]! >= 5000, `waited as Retry-After: 5 asked (${waits[0]} ms)`)
    t.equal(await countEntries(test, 'M-client-5'), before + 1, 'exactly one ledger entry')

    const auditor = createDataSharingClient({ baseUrl, token: ADMIN_TOKEN })
    const entries = unwrap(await auditor.api.GET('/v1/ledger', { params: { query: { memberId: 'M-client-5', decision: 'allow' } } })) as {
      entries: { id: string }[]
    }
    t.same(
      entries.entries.map((e) => e.id),
      [decision.entry!.id],
      'the ledger holds the one allowed transfer'
    )
  })

  t.test('a batch retried after a 503: the same Idempotency-Key, one entry per item', async (t) => {
    await failNextLedgerInsert(t, test, 'client_batch')

    sent.length = 0
    const before = await countEntries(test)
    const results = await client.transferBatch([asRequest(jointUse('M-client-b1')), asRequest(jointUse('M-client-b2'))])
    t.same(
      sent.map((s) => s.status),
      [503, 200],
      'one 503, then 200'
    )
    t.ok(sent[0]!.idempotencyKey, 'a key was sent')
    t.equal(sent[1]!.idempotencyKey, sent[0]!.idempotencyKey, 'the same key on the retry')
    t.same(
      results.map((r) => r.decision),
      ['allow', 'allow']
    )
    t.equal(await countEntries(test), before + 2, 'each item recorded once')
    const again = await client.transferBatch([asRequest(jointUse('M-client-b1')), asRequest(jointUse('M-client-b2'))], {
      idempotencyKey: sent[0]!.idempotencyKey!
    })
    t.same(
      again.map((r) => r.entry!.id),
      results.map((r) => r.entry!.id),
      'a repeat with the key answers with the recorded entries'
    )
    t.equal(await countEntries(test), before + 2, 'and records nothing')
  })

  t.test('a repeat with the same key returns the first answer and records nothing', async (t) => {
    const first = await client.transfer(asRequest(billing('M-client-1', bank)), { idempotencyKey: 'invoice-4711' })
    const before = await countEntries(test)
    const again = await client.transfer(asRequest(billing('M-client-1', bank)), { idempotencyKey: 'invoice-4711' })
    t.equal(again.entry!.id, first.entry!.id)
    t.equal(await countEntries(test), before)
    const reused = await client.transfer(asRequest(jointUse('M-client-1')), { idempotencyKey: 'invoice-4711' }).catch((e: unknown) => e)
    t.equal((reused as ProblemError).status, 422)
    t.equal((reused as ProblemError).code, 'idempotency_key_reused')
  })

  t.test('429: waits as Retry-After says, a bounded number of times, then a ProblemError', async (t) => {
    const registered = await test.request({ method: 'POST', url: '/v1/clients', payload: { name: 'throttled', role: 'system', rateLimit: 1 } })
    t.equal(registered.statusCode, 201)
    const limited = registered.json<{ token: string }>()
    const throttledSent: Sent[] = []
    const throttledWaits: number[] = []
    const throttled = createDataSharingClient({
      baseUrl,
      token: limited.token,
      fetch: recordingFetch(throttledSent),
      retry: { attempts: 3, maxRetryAfterMs: 120_000 },
      sleep: async (ms) => {
        throttledWaits.push(ms)
      }
    })
    await throttled.check(asRequest(jointUse('M-client-6')))
    const error = await throttled.check(asRequest(jointUse('M-client-6'))).catch((e: unknown) => e)
    t.ok(error instanceof ProblemError)
    t.equal((error as ProblemError).status, 429)
    t.type((error as ProblemError).retryAfterSeconds, 'number')
    t.equal(throttledSent.length, 1 + 3, 'the first call, then three attempts for the second')
    t.equal(throttledWaits.length, 2, 'two waits between three attempts')
    t.ok(
      throttledWaits.every((ms) => ms >= 1000),
      `each wait honours Retry-After (${throttledWaits.join(', ')} ms)`
    )
  })
})
