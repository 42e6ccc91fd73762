import t from 'tap'
import {
  EXAMPLE,
  EXAMPLE_CONSENT,
  EXAMPLE_CONTRACT,
  EXAMPLE_MEMBER_COOP,
  EXAMPLE_CONTRACTOR,
  EXAMPLE_INSPECTION,
  EXAMPLE_RECIPIENT
} from '../../src/examples.js'
import { openCheckpoint } from '../../src/ledger/checkpoints.js'
import { buildTestApp, type TestApp } from '../helper.js'

/**
 * The examples of the OpenAPI document are what /docs shows and what "Try it out" sends, so
 * they must be requests the service accepts and answers it really gives. Every request example
 * is sent to a real app, in a world of its own where the ids it names are registered (the
 * example world of src/examples.ts), and must not be a 400; the decision examples must be
 * decided as their documented answers say.
 */

interface Example {
  summary?: string
  value?: unknown
}
interface Media {
  schema?: unknown
  example?: unknown
  examples?: Record<string, Example>
}
interface Parameter {
  in: string
  name: string
  example?: unknown
  examples?: Record<string, Example>
}
interface Operation {
  operationId: string
  parameters?: Parameter[]
  requestBody?: { content: Record<string, Media> }
  responses: Record<string, { content?: Record<string, Media> }>
}
interface Document {
  paths: Record<string, Record<string, Operation>>
}

/** The moment the example world lives in: after every example time, while the contract is in force. */
const NOW = new Date('2026-12-01T09:00:00+09:00')

async function register(test: TestApp, url: string, payload: object): Promise<{ id: string }> {
  const res = await test.request({ method: 'POST', url, payload })
  if (res.statusCode !== 201) throw new Error(`registering ${url} failed: ${res.statusCode} ${res.body}`)
  return res.json()
}

let worlds = 0
/**
 * The example world with fresh objects and a member of its own: each example changes nothing
 * another one relies on (a withdrawal, a deactivation, a failed inspection).
 */
async function exampleWorld(test: TestApp): Promise<Map<string, string>> {
  worlds += 1
  const memberId = `M-EXAMPLE-${worlds}`
  const recipient = await register(test, '/v1/recipients', EXAMPLE_RECIPIENT)
  const contractor = await register(test, '/v1/contractors', EXAMPLE_CONTRACTOR)
  await register(test, `/v1/contractors/${contractor.id}/contracts`, EXAMPLE_CONTRACT)
  await register(test, `/v1/contractors/${contractor.id}/inspections`, EXAMPLE_INSPECTION)
  const consent = await register(test, `/v1/members/${memberId}/consents`, EXAMPLE_CONSENT)
  const coop = await register(test, '/v1/entities', EXAMPLE_MEMBER_COOP)
  return new Map([
    [EXAMPLE.memberCoopId, coop.id],
    [EXAMPLE.memberId, memberId],
    [EXAMPLE.recipientId, recipient.id],
    [EXAMPLE.contractorId, contractor.id],
    [EXAMPLE.consentId, consent.id]
  ])
}

/** The value with every placeholder id replaced by the world's. */
function substitute(value: unknown, world: Map<string, string>): unknown {
  if (typeof value === 'string') return world.get(value) ?? value
  if (Array.isArray(value)) return value.map((v) => substitute(v, world))
  if (value !== null && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, substitute(v, world)]))
  return value
}

/** The path with each parameter filled in from its documented example. */
function fillPath(path: string, operation: Operation, world: Map<string, string>): string {
  return path.replace(/\{([^}]+)\}/g, (_, name: string) => {
    const parameter = operation.parameters?.find((p) => p.in === 'path' && p.name === name)
    if (parameter?.example === undefined) throw new Error(`${operation.operationId}: path parameter ${name} has no example`)
    return encodeURIComponent(String(substitute(parameter.example, world)))
  })
}

function operations(document: Document): [string, string, Operation][] {
  return Object.entries(document.paths).flatMap(([path, methods]) =>
    Object.entries(methods).map(([method, operation]) => [path, method, operation] as [string, string, Operation])
  )
}

const codesOf = (body: { reasons?: { code: string }[] }) => (body.reasons ?? []).map((r) => r.code).sort()

t.test('every request example is accepted by a real app, and decided as documented', async (t) => {
  const test = await buildTestApp(t, { now: () => NOW })
  const document = (await test.request({ method: 'GET', url: '/openapi.json', token: null })).json<Document>()
  let sent = 0
  for (const [path, method, operation] of operations(document)) {
    const media = operation.requestBody?.content['application/json']
    if (!media) continue
    for (const [name, example] of Object.entries(media.examples ?? {})) {
      const world = await exampleWorld(test)
      const url = fillPath(path, operation, world)
      const payload = substitute(example.value, world) as object
      const res = await test.request({ method: method.toUpperCase() as 'POST', url, payload })
      const label = `${operation.operationId} example ${name} (${method.toUpperCase()} ${path}): ${res.statusCode}`
      sent += 1
      t.not(res.statusCode, 400, `${label} is not a 400${res.statusCode === 400 ? `: ${res.body}` : ''}`)
      t.ok(
        res.statusCode < 300 || (path.startsWith('/v1/transfers') && res.statusCode === 403),
        `${label} succeeds${res.statusCode >= 300 ? `: ${res.body}` : ''}`
      )

      // A decision example is decided as the response example of the same name says.
      if (path === '/v1/checks' || path === '/v1/transfers') {
        const status = path === '/v1/checks' ? '200' : name === 'deny' ? '403' : '201'
        const documented = operation.responses[status]?.content?.['application/json']?.examples?.[name]?.value as
          { decision: string; reasons: { code: string }[] } | undefined
        t.ok(documented, `${label}: the ${status} answer documents an example named ${name}`)
        t.equal(String(res.statusCode), status, `${label}: answers ${status}`)
        if (documented) {
          t.equal(res.json().decision, documented.decision, `${label}: ${documented.decision}, as documented`)
          t.same(codesOf(res.json()), codesOf(documented), `${label}: for the documented reasons`)
        }
      }
    }
  }
  t.ok(sent >= 20, `${sent} request examples sent`)
})

t.test('every operation documents examples of its requests and of each of its answers', async (t) => {
  const test = await buildTestApp(t)
  const document = (await test.request({ method: 'GET', url: '/openapi.json', token: null })).json<Document>()
  for (const [path, method, operation] of operations(document)) {
    const where = `${method.toUpperCase()} ${path}`
    for (const parameter of operation.parameters ?? []) {
      if (parameter.in === 'path') t.ok(parameter.example !== undefined, `${where}: path parameter ${parameter.name} has an example`)
    }
    for (const [type, media] of Object.entries(operation.requestBody?.content ?? {})) {
      t.ok(Object.keys(media.examples ?? {}).length > 0, `${where}: the ${type} body has named examples`)
    }
    for (const [status, response] of Object.entries(operation.responses)) {
      for (const [type, media] of Object.entries(response.content ?? {})) {
        t.ok(media.example !== undefined || Object.keys(media.examples ?? {}).length > 0, `${where}: the ${status} ${type} answer has examples`)
        for (const [name, example] of Object.entries(media.examples ?? {})) t.ok(example.summary, `${where} ${status} ${name} has a summary`)
      }
    }
  }
  // One named example per channel, plus a deny, for checks and transfers.
  for (const path of ['/v1/checks', '/v1/transfers']) {
    const names = Object.keys(document.paths[path]!.post!.requestBody!.content['application/json']!.examples ?? {})
    t.same(names.sort(), ['deny', 'entrustment', 'joint_use', 'statutory_exception', 'third_party'], `${path}: one example per channel and a deny`)
  }
})

t.test('the 403 of POST /v1/transfers shows denials, and the problem of a refused scope', async (t) => {
  const test = await buildTestApp(t)
  const document = (await test.request({ method: 'GET', url: '/openapi.json', token: null })).json<Document>()
  const forbidden = document.paths['/v1/transfers']!.post!.responses['403']!.content!
  const denials = Object.entries(forbidden['application/json']!.examples ?? {})
  t.ok(denials.length > 0, 'the 403 has decision examples')
  for (const [name, example] of denials) {
    const value = example.value as { decision: string; reasons: { code: string; clause: string }[]; entry?: unknown }
    t.equal(value.decision, 'deny', `403 example ${name} says deny`)
    t.ok(value.reasons.length > 0 && value.reasons.every((r) => r.clause), `403 example ${name} names the clauses that deny`)
    t.ok(value.entry, `403 example ${name} carries the ledger entry of the recorded denial`)
  }
  const problems = Object.values(forbidden['application/problem+json']!.examples ?? {})
  t.same(
    problems.map((p) => (p.value as { code: string }).code),
    ['client_scope'],
    'the problem example is client_scope'
  )
})

/** A request that provokes a documented problem, and where the document shows that problem. */
interface ProblemCase {
  readonly request: { method: 'GET' | 'POST' | 'PATCH'; url: string; payload?: unknown; token?: null; headers?: Record<string, string> }
  readonly documented: [path: string, method: string, status: string, example: string]
}

const PROBLEM_CASES: ProblemCase[] = [
  { request: { method: 'GET', url: '/v1/recipients', token: null }, documented: ['/v1/recipients', 'get', '401', 'missing'] },
  { request: { method: 'GET', url: `/v1/recipients/${EXAMPLE.recipientId}` }, documented: ['/v1/recipients/{id}', 'get', '404', 'not_found'] },
  { request: { method: 'GET', url: '/v1/recipients/not-a-uuid' }, documented: ['/v1/recipients/{id}', 'get', '400', 'validation_failed'] },
  {
    request: { method: 'POST', url: '/v1/recipients', payload: { ...EXAMPLE_RECIPIENT, category: 'bank' } },
    documented: ['/v1/recipients', 'post', '400', 'validation_failed']
  },
  { request: { method: 'GET', url: '/v1/recipients?active=maybe' }, documented: ['/v1/recipients', 'get', '400', 'validation_failed'] },
  {
    request: { method: 'PATCH', url: `/v1/recipients/${EXAMPLE.recipientId}`, payload: {} },
    documented: ['/v1/recipients/{id}', 'patch', '400', 'nothing_to_change']
  },
  {
    request: { method: 'POST', url: '/v1/contractors', payload: { name: EXAMPLE_CONTRACTOR.name } },
    documented: ['/v1/contractors', 'post', '400', 'validation_failed']
  },
  {
    request: { method: 'POST', url: `/v1/members/${EXAMPLE.memberId}/consents`, payload: { ...EXAMPLE_CONSENT, obtainedAt: '2026-11-19T14:00:00' } },
    documented: ['/v1/members/{memberId}/consents', 'post', '400', 'validation_failed']
  },
  { request: { method: 'GET', url: '/v1/members/M%20X/consents' }, documented: ['/v1/members/{memberId}/consents', 'get', '400', 'validation_failed'] },
  {
    request: {
      method: 'POST',
      url: '/v1/transfers',
      payload: { channel: 'third_party', memberId: EXAMPLE.memberId, purpose: 'billing', dataItems: ['name'], method: 'electronic', jointUser: 'JCCU' }
    },
    documented: ['/v1/transfers', 'post', '400', 'validation_failed']
  },
  {
    request: { method: 'POST', url: '/v1/checks', payload: 'x', headers: { 'content-type': 'text/plain' } },
    documented: ['/v1/checks', 'post', '415', 'unsupported_media_type']
  },
  {
    request: { method: 'POST', url: '/v1/clients', payload: { name: 'desk', role: 'ops', channels: ['joint_use'] } },
    documented: ['/v1/clients', 'post', '400', 'scope_only_for_system']
  },
  { request: { method: 'GET', url: '/v1/ledger?limit=9999' }, documented: ['/v1/ledger', 'get', '400', 'validation_failed'] },
  { request: { method: 'GET', url: '/v1/ledger?cursor=abc' }, documented: ['/v1/ledger', 'get', '400', 'invalid_cursor'] },
  { request: { method: 'GET', url: '/v1/ledger/not-a-uuid' }, documented: ['/v1/ledger/{entryId}', 'get', '400', 'validation_failed'] },
  { request: { method: 'GET', url: '/v1/ledger/checkpoints/latest' }, documented: ['/v1/ledger/checkpoints/latest', 'get', '404', 'not_found'] }
]

t.test('problem examples are what the service sends', async (t) => {
  const test = await buildTestApp(t)
  const document = (await test.request({ method: 'GET', url: '/openapi.json', token: null })).json<Document>()
  const without = ({ instance: _instance, ...rest }: Record<string, unknown>) => rest
  for (const { request, documented } of PROBLEM_CASES) {
    const [path, method, status, name] = documented
    const example = document.paths[path]?.[method]?.responses[status]?.content?.['application/problem+json']?.examples?.[name]?.value as
      Record<string, unknown> | undefined
    const res = await test.request({ ...request, payload: request.payload as object })
    const label = `${request.method} ${request.url}: ${res.statusCode}`
    t.equal(String(res.statusCode), status, `${label} is the documented ${status}`)
    t.ok(example, `${method.toUpperCase()} ${path} documents ${status} ${name}`)
    if (example) t.same(without(res.json()), without(example), `${label}: the body is the ${name} example`)
  }
})

t.test('the checkpoint example is a note its key really signed, stating its own heads', async (t) => {
  const test = await buildTestApp(t)
  const document = (await test.request({ method: 'GET', url: '/openapi.json', token: null })).json<Document>()
  const page = document.paths['/v1/ledger/checkpoints']!.get!.responses['200']!.content!['application/json']!.examples!.page!.value as {
    key: { name: string; publicKey: string }
    checkpoints: { note: string; treeSize: number; chains: { chain: number; seq: number; headHash: string }[] }[]
  }
  const [checkpoint] = page.checkpoints
  const body = openCheckpoint(checkpoint!.note, { name: page.key.name, publicKey: Buffer.from(page.key.publicKey, 'base64') })
  t.equal(body.treeSize, checkpoint!.treeSize, 'the note states the tree size shown')
  t.same(
    body.heads.map((h) => ({ chain: h.chain, seq: h.seq, headHash: h.hash })),
    checkpoint!.chains,
    'and the heads shown'
  )
})
