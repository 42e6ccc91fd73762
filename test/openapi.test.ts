import { readFile } from 'node:fs/promises'
import t from 'tap'
import { openApiDocument } from '../src/openapi-document.js'
import { REASON_CODES } from '../src/policy/reasons.js'
import { buildTestApp } from './helper.js'

interface Operation {
  responses?: Record<string, unknown>
  operationId?: string
  tags?: string[]
}

// Building the document starts an app on a fresh embedded database; once is enough.
const generated = openApiDocument().then((document) => JSON.parse(JSON.stringify(document)))

t.test('the committed openapi/openapi.json is the document the code generates', async (t) => {
  const committed = JSON.parse(await readFile(new URL('../openapi/openapi.json', import.meta.url), 'utf8'))
  t.same(committed, await generated, 'stale: run `npm run openapi` and commit the result')
})

t.test('/openapi.json serves the same OpenAPI 3.1 document, with no token', async (t) => {
  const test = await buildTestApp(t)
  const res = await test.request({ method: 'GET', url: '/openapi.json', token: null })
  t.equal(res.statusCode, 200)
  const served = res.json()
  t.equal(served.openapi, '3.1.0')
  const committed = JSON.parse(await readFile(new URL('../openapi/openapi.json', import.meta.url), 'utf8'))
  t.same(served, committed)
})

t.test('every operation is named, tagged and documents its error responses', async (t) => {
  const document = (await generated) as { paths: Record<string, Record<string, Operation>> }
  for (const [path, operations] of Object.entries(document.paths)) {
    for (const [method, operation] of Object.entries(operations)) {
      const where = `${method.toUpperCase()} ${path}`
      t.ok(operation.operationId, `${where} has an operationId`)
      t.ok(operation.tags?.length, `${where} has a tag`)
      const codes = Object.keys(operation.responses ?? {})
      t.ok(
        codes.some((c) => c.startsWith('2')),
        `${where} documents its success`
      )
      if (path.startsWith('/v1/')) {
        for (const code of ['400', '401', '403']) t.ok(codes.includes(code), `${where} documents ${code}`)
      }
    }
  }
})

t.test('the reason codes are a closed enum in the document', async (t) => {
  const text = JSON.stringify(await generated)
  for (const code of REASON_CODES) t.ok(text.includes(`"${code}"`), `${code} is documented`)
})

t.test('/docs serves an API reference page', async (t) => {
  const test = await buildTestApp(t)
  const res = await test.request({ method: 'GET', url: '/docs/', token: null })
  t.equal(res.statusCode, 200)
  t.match(res.headers['content-type'], /text\/html/)
  t.match(res.body, /swagger/i)
})
