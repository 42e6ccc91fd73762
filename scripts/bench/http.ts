import http from 'node:http'

export interface HttpResponse {
  readonly status: number
  readonly headers: http.IncomingHttpHeaders
  readonly text: string
  json<T = unknown>(): T
}

// Keep-alive so setup's many small calls do not churn sockets; node:http rather than fetch,
// because fetch gives up on headers after 300 s and verify of a 10 M ledger may take longer.
const agent = new http.Agent({ keepAlive: true, maxSockets: 32 })

/**
 * One HTTP/1.1 request on loopback. `timeoutMs` 0 waits for ever (verify of a large ledger).
 * @throws on a socket error or the timeout; any status is a resolved response.
 */
export function httpRequest(
  method: string,
  url: string,
  options: { headers?: Record<string, string>; body?: unknown; timeoutMs?: number } = {}
): Promise<HttpResponse> {
  const payload = options.body === undefined ? undefined : Buffer.from(JSON.stringify(options.body), 'utf8')
  const headers: Record<string, string> = { ...options.headers }
  if (payload) {
    headers['content-type'] = 'application/json'
    headers['content-length'] = String(payload.length)
  }
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, headers, agent }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('error', reject)
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8')
        resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json: <T>() => JSON.parse(text) as T })
      })
    })
    req.on('error', reject)
    const timeoutMs = options.timeoutMs ?? 30_000
    if (timeoutMs > 0) req.setTimeout(timeoutMs, () => req.destroy(new Error(`${method} ${url}: no answer in ${timeoutMs} ms`)))
    req.end(payload)
  })
}

/** Like httpRequest, but a status other than `expected` is an error that shows the body. */
export async function expectStatus(expected: number, method: string, url: string, options: Parameters<typeof httpRequest>[2] = {}): Promise<HttpResponse> {
  const res = await httpRequest(method, url, options)
  if (res.status !== expected) throw new Error(`${method} ${url}: expected ${expected}, got ${res.status}: ${res.text.slice(0, 500)}`)
  return res
}

export function closeAgent(): void {
  agent.destroy()
}
