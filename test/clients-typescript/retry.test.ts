import t from 'tap'
import { ProblemError, retryAfterSeconds } from '../../clients/typescript/src/errors.js'
import { retryingFetch, type RetryEvent } from '../../clients/typescript/src/retry.js'

/** A fetch that answers from a script: a status (with headers), or an error to throw. */
function scripted(steps: (number | [number, Record<string, string>] | Error)[]) {
  const seen: { method: string; key: string | null; body: string }[] = []
  const fetch = async (request: Request) => {
    seen.push({ method: request.method, key: request.headers.get('idempotency-key'), body: await request.text() })
    const step = steps.shift()
    if (step === undefined) throw new Error('the script ran out')
    if (step instanceof Error) throw step
    const [status, headers] = Array.isArray(step) ? step : [step, {}]
    return new Response(status === 204 ? null : '{}', { status, headers: { 'content-type': 'application/json', ...headers } })
  }
  return { fetch, seen }
}

function harness(steps: Parameters<typeof scripted>[0], options: Parameters<typeof retryingFetch>[1] = {}) {
  const { fetch, seen } = scripted(steps)
  const waits: number[] = []
  const events: RetryEvent[] = []
  const send = retryingFetch(fetch, options, {
    sleep: async (ms) => {
      waits.push(ms)
    },
    random: () => 0.5,
    onRetry: (event) => events.push(event)
  })
  return { send, seen, waits, events }
}

const transfer = (key = 'k-1') =>
  new Request('http://service.test/v1/transfers', {
    method: 'POST',
    body: '{"memberId":"M-1"}',
    headers: { 'idempotency-key': key, 'content-type': 'application/json' }
  })
const batch = () =>
  new Request('http://service.test/v1/transfers/batch', { method: 'POST', body: '{"items":[]}', headers: { 'content-type': 'application/json' } })
const check = () => new Request('http://service.test/v1/checks', { method: 'POST', body: '{}' })

t.test('a keyed transfer is sent again, body and key unchanged, after a 503 and a network failure', async (t) => {
  const { send, seen, waits, events } = harness([503, new TypeError('fetch failed'), 201])
  const response = await send(transfer('order-1'))
  t.equal(response.status, 201)
  t.same(
    seen.map((s) => [s.key, s.body]),
    [
      ['order-1', '{"memberId":"M-1"}'],
      ['order-1', '{"memberId":"M-1"}'],
      ['order-1', '{"memberId":"M-1"}']
    ]
  )
  t.same(waits, [125, 250], 'exponential backoff with jitter: half of 250 ms, then half of 500 ms')
  t.same(
    events.map((e) => [e.attempt, e.status, e.idempotencyKey]),
    [
      [1, 503, 'order-1'],
      [2, undefined, 'order-1']
    ]
  )
})

t.test('Retry-After is honoured, in seconds or as a date', async (t) => {
  const { send, waits } = harness([[503, { 'retry-after': '2' }], [429, { 'retry-after': new Date(Date.now() + 3000).toUTCString() }], 201])
  t.equal((await send(transfer())).status, 201)
  t.ok(waits[0]! >= 2000 && waits[0]! < 2250, `2 s plus jitter (${waits[0]})`)
  t.ok(waits[1]! >= 2000 && waits[1]! < 3250, `the date, to the second, plus jitter (${waits[1]})`)
})

t.test('attempts are bounded: the last answer is returned', async (t) => {
  const { send, seen } = harness([503, 503, 503, 503, 201], { attempts: 3 })
  t.equal((await send(transfer())).status, 503)
  t.equal(seen.length, 3)
})

t.test('a Retry-After beyond the limit is handed back at once', async (t) => {
  const { send, seen } = harness([[503, { 'retry-after': '3600' }], 201], { maxRetryAfterMs: 60_000 })
  const response = await send(transfer())
  t.equal(response.status, 503)
  t.equal(seen.length, 1)
  t.equal(ProblemError.from(response, undefined).retryAfterSeconds, 3600)
})

t.test('a batch without a key: retried on 429 only, never after a 503 or a network failure', async (t) => {
  const throttled = harness([429, 200])
  t.equal((await throttled.send(batch())).status, 200)
  t.equal(throttled.seen.length, 2, '429: refused before anything was done, so sent again')

  const unavailable = harness([503, 200])
  t.equal((await unavailable.send(batch())).status, 503, 'a 503 is returned: a cut-off commit may have recorded it')
  t.equal(unavailable.seen.length, 1)

  const broken = harness([new TypeError('fetch failed'), 200])
  await t.rejects(broken.send(batch()), TypeError)
  t.equal(broken.seen.length, 1)
})

t.test('checks and reads record nothing, so they are retried like keyed transfers', async (t) => {
  const checked = harness([503, 200])
  t.equal((await checked.send(check())).status, 200)
  const read = harness([new TypeError('fetch failed'), 200])
  t.equal((await read.send(new Request('http://service.test/v1/ledger/verify'))).status, 200)
})

t.test('other answers are not retried', async (t) => {
  for (const status of [400, 401, 403, 404, 409, 422, 500]) {
    const { send, seen } = harness([status, 201])
    t.equal((await send(transfer())).status, status)
    t.equal(seen.length, 1, `${status} is final`)
  }
})

t.test('an abort during the wait ends the call', async (t) => {
  const { fetch, seen } = scripted([[503, { 'retry-after': '30' }], 201])
  const controller = new AbortController()
  const send = retryingFetch(fetch)
  const request = new Request('http://service.test/v1/transfers', {
    method: 'POST',
    body: '{}',
    headers: { 'idempotency-key': 'k' },
    signal: controller.signal
  })
  const pending = send(request)
  setTimeout(() => controller.abort(new Error('caller gave up')), 20)
  await t.rejects(pending, { message: 'caller gave up' })
  t.equal(seen.length, 1)
})

t.test('retryAfterSeconds', async (t) => {
  t.equal(retryAfterSeconds(null), undefined)
  t.equal(retryAfterSeconds('0'), 0)
  t.equal(retryAfterSeconds(' 5 '), 5)
  t.equal(retryAfterSeconds('Wed, 21 Oct 2015 07:28:00 GMT', Date.parse('Wed, 21 Oct 2015 07:27:58 GMT')), 2)
  t.equal(retryAfterSeconds('soon'), undefined)
})

t.test('a response that is not a problem document still becomes a ProblemError', async (t) => {
  const error = ProblemError.from(new Response('<html>Bad Gateway</html>', { status: 502, statusText: 'Bad Gateway' }), '<html>Bad Gateway</html>')
  t.equal(error.status, 502)
  t.equal(error.code, 'unexpected_response')
  t.same(error.errors, [])
  const typed = ProblemError.from(new Response(null, { status: 503 }), {
    type: 'https://shizenha.example/problems/ledger_busy',
    title: 'Service Unavailable',
    status: 503
  })
  t.equal(typed.code, 'ledger_busy', 'the code from the type when the member is absent')
})
