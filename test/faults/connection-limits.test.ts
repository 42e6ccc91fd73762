import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import t, { type Test } from 'tap'
import { waitFor } from '../support/history.js'
import { answersIn, closedWithin, rawConnection, trickle, type RawConnection } from '../support/raw-http.js'
import { startServer, type ServerProcess } from '../support/server-process.js'
import { TEST_TIMEOUT_MS } from './fault-helpers.js'

/**
 * A real service process against clients that hold connections: a request that never finishes
 * arriving is answered 408 problem+json and closed at REQUEST_TIMEOUT_MS, one answered before its
 * body arrived (401) is closed with its answer, and past MAX_CONNECTIONS a new connection is closed
 * unanswered until one is released. The embedded database is enough: no request here reaches it
 * for long.
 */

const ADMIN = 'faults-connections-admin-token-0123456789'
const REQUEST_TIMEOUT_MS = 1_500
const MAX_CONNECTIONS = 3
/** Far past the timeout: a connection still open then is held without bound (as before these settings). */
const CLOSE_BOUND_MS = 20_000
const TRICKLE_MS = 200

// One service for the tests below (starting one is most of their time). Each closes the
// connections it opened, so the next one starts with every connection free.
const dataDir = await mkdtemp(path.join(tmpdir(), 'shizenha-connections-'))
t.teardown(() => rm(dataDir, { recursive: true, force: true }))
const server: ServerProcess = await startServer(t, {
  DATA_DIR: dataDir,
  BOOTSTRAP_ADMIN_TOKEN: ADMIN,
  REQUEST_TIMEOUT_MS: String(REQUEST_TIMEOUT_MS),
  MAX_CONNECTIONS: String(MAX_CONNECTIONS)
})

/** GET /healthz on a connection of its own, closed after the answer: its status, or undefined if there was none. */
async function healthOnNewConnection(t: Test): Promise<number | undefined> {
  const connection = await rawConnection(t, server.url)
  connection.socket.write('GET /healthz HTTP/1.1\r\nHost: service\r\nConnection: close\r\n\r\n')
  await connection.closed
  return answersIn(connection.received())[0]?.status
}

function slowCheck(token: string | undefined): string {
  return [
    'POST /v1/checks HTTP/1.1',
    'Host: service',
    ...(token === undefined ? [] : [`Authorization: Bearer ${token}`]),
    'Content-Type: application/json',
    'Content-Length: 100000',
    '',
    '{'
  ].join('\r\n')
}

/** The connection's one answer: problem+json of `status`, with nothing internal in it. */
function assertOneProblem(t: Test, connection: RawConnection, status: number, type: RegExp, what: string): void {
  const answers = answersIn(connection.received())
  t.equal(answers.length, 1, `${what}: one answer (got ${JSON.stringify(connection.received().slice(0, 300))})`)
  const answer = answers[0]
  t.equal(answer?.status, status, `${what}: ${status}`)
  t.match(answer?.headers['content-type'] ?? '', /^application\/problem\+json/, `${what}: problem+json`)
  t.match(JSON.parse(answer?.body ?? '{}'), { status, type, title: String, detail: String }, `${what}: an RFC 9457 problem`)
  t.notMatch(connection.received(), /\n\s+at |\.ts:\d+|Error:/, `${what}: no stack trace`)
}

t.test('a request that never finishes arriving is answered 408 problem+json and closed at REQUEST_TIMEOUT_MS', { timeout: TEST_TIMEOUT_MS }, async (t) => {
  // Issue 23 §4: Content-Length 100000 and a byte now and then, with a valid token.
  const body = await rawConnection(t, server.url)
  body.socket.write(slowCheck(ADMIN))
  trickle(body, ' ', TRICKLE_MS)
  t.ok(await closedWithin(body, CLOSE_BOUND_MS), 'a body trickling in is cut off')
  assertOneProblem(t, body, 408, /\/request_timeout$/, 'slow body')

  // Headers that never end (slowloris): the same deadline.
  const headers = await rawConnection(t, server.url)
  headers.socket.write('POST /v1/checks HTTP/1.1\r\nHost: service\r\n')
  trickle(headers, 'X-Slow: 1\r\n', TRICKLE_MS)
  t.ok(await closedWithin(headers, CLOSE_BOUND_MS), 'headers trickling in are cut off')
  assertOneProblem(t, headers, 408, /\/request_timeout$/, 'slow headers')

  // A connection that sends nothing at all.
  const silent = await rawConnection(t, server.url)
  t.ok(await closedWithin(silent, CLOSE_BOUND_MS), 'a silent connection is closed')

  t.match(server.output(), /"code":"request_timeout"[^\n]*"msg":"connection closed: request refused"/, 'the refusal is logged')
  t.equal(await healthOnNewConnection(t), 200, 'the service answers as before')
})

t.test('a request answered before its body arrived (no token: 401) has its connection closed with the answer', { timeout: TEST_TIMEOUT_MS }, async (t) => {
  const connection = await rawConnection(t, server.url)
  connection.socket.write(slowCheck(undefined))
  trickle(connection, ' ', TRICKLE_MS)
  t.ok(await closedWithin(connection, CLOSE_BOUND_MS), 'the connection is closed')
  // One answer only: no 408 spliced in after the 401 when the deadline passes.
  assertOneProblem(t, connection, 401, /\/unauthorized$/, 'no token')
  t.equal(answersIn(connection.received())[0]?.headers.connection, 'close', 'the 401 says the connection closes')
})

t.test('past MAX_CONNECTIONS a new connection is closed unanswered, until one is released', { timeout: TEST_TIMEOUT_MS }, async (t) => {
  // Each held connection has been answered once, so the service has certainly taken it on; kept
  // alive, it stays open between requests.
  const held: RawConnection[] = []
  for (let i = 0; i < MAX_CONNECTIONS; i += 1) {
    const connection = await rawConnection(t, server.url)
    connection.socket.write('GET /healthz HTTP/1.1\r\nHost: service\r\n\r\n')
    await waitFor(`held connection ${i} to be answered`, () => answersIn(connection.received()).length === 1, 10_000)
    t.equal(answersIn(connection.received())[0]?.status, 200, `held connection ${i}: answered 200`)
    held.push(connection)
  }

  const refused = await rawConnection(t, server.url).catch(() => undefined)
  if (refused !== undefined) {
    refused.socket.write('GET /healthz HTTP/1.1\r\nHost: service\r\n\r\n')
    t.ok(await closedWithin(refused, CLOSE_BOUND_MS), `connection ${MAX_CONNECTIONS + 1} is closed`)
    t.equal(refused.received(), '', `connection ${MAX_CONNECTIONS + 1} gets no answer`)
  }
  t.ok(
    held.every((connection) => !connection.isClosed()),
    'the held connections stay open'
  )
  // The log line reaches the pipe after the socket is dropped (pino writes asynchronously): wait for it.
  const refusal = /"maxConnections":3[^\n]*"msg":"connection refused: MAX_CONNECTIONS connections are open"/
  await waitFor('the refusal to be logged', () => refusal.test(server.output()), 10_000).catch(() => undefined)
  t.match(server.output(), refusal, 'the refusal is logged')

  held[0]!.socket.destroy()
  const status = await waitFor('a new connection to be taken on once one is released', () => healthOnNewConnection(t), 10_000)
  t.equal(status, 200, 'a new connection is answered again')
  for (const connection of held) connection.socket.destroy()
})
