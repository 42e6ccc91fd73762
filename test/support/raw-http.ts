import { connect, type Socket } from 'node:net'
import { sleep } from './history.js'
import type { Teardown } from './server-process.js'

/** A TCP connection the test writes by hand: a request sent slowly, or in part, as an attacker would. */
export interface RawConnection {
  readonly socket: Socket
  /** Everything the server sent so far, as text. */
  received(): string
  /** Settles once the connection is closed, by either side (a reset included). */
  readonly closed: Promise<void>
  isClosed(): boolean
}

/** Connects to the server at `url` (http://host:port); a teardown destroys the socket if the test did not. */
export async function rawConnection(t: Teardown, url: string): Promise<RawConnection> {
  const { hostname, port } = new URL(url)
  const socket = connect(Number(port), hostname)
  let text = ''
  let closed = false
  socket.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')))
  // A reset by the server is an outcome the test looks at, not a failure of the test process.
  socket.on('error', () => {})
  const closedPromise = new Promise<void>((resolve) =>
    socket.once('close', () => {
      closed = true
      resolve()
    })
  )
  t.teardown(() => socket.destroy())
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve)
    socket.once('error', reject)
  })
  return { socket, received: () => text, closed: closedPromise, isClosed: () => closed }
}

/** Writes `chunk` every `intervalMs` until the connection closes: the body of a request that never ends. */
export function trickle(connection: RawConnection, chunk: string, intervalMs: number): void {
  const timer = setInterval(() => {
    if (connection.socket.writable) connection.socket.write(chunk)
  }, intervalMs)
  void connection.closed.then(() => clearInterval(timer))
}

/** Whether the connection was closed within `ms` (a bound far past the deadline being tested, not a timing). */
export async function closedWithin(connection: RawConnection, ms: number): Promise<boolean> {
  return Promise.race([connection.closed.then(() => true), sleep(ms).then(() => false)])
}

export interface RawAnswer {
  readonly status: number
  /** Header names in lower case. */
  readonly headers: Readonly<Record<string, string>>
  readonly body: string
}

/**
 * The final answers in `text`, in order (interim 1xx answers left out); bodies by Content-Length.
 * An answer cut short is left out too.
 */
export function answersIn(text: string): RawAnswer[] {
  const answers: RawAnswer[] = []
  let rest = text
  for (;;) {
    const end = rest.indexOf('\r\n\r\n')
    if (end < 0) return answers
    const [statusLine = '', ...lines] = rest.slice(0, end).split('\r\n')
    const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(statusLine)?.[1])
    const headers = Object.fromEntries(
      lines.map((line) => {
        const colon = line.indexOf(':')
        return [line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim()]
      })
    )
    const length = Number(headers['content-length'] ?? 0)
    const bodyBytes = Buffer.from(rest.slice(end + 4), 'utf8')
    if (bodyBytes.length < length) return answers
    if (!(status >= 100 && status < 200)) answers.push({ status, headers, body: bodyBytes.subarray(0, length).toString('utf8') })
    rest = bodyBytes.subarray(length).toString('utf8')
  }
}
