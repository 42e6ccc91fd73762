import swagger from '@fastify/swagger'
import swaggerUi from '@fastify/swagger-ui'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import { DecisionSchema } from '../decisions/schemas.js'
import { Problem } from '../schemas.js'

const DOCS_CSP =
  "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; " +
  "frame-ancestors 'none'; base-uri 'self'; form-action 'self'"

export const OPENAPI_INFO = {
  title: 'Co-op Shizenha data-sharing authorization service',
  version: '1.0.0',
  description:
    'Answers whether a hand-off of a member’s personal data may happen under the published privacy notice ' +
    '(個人情報の取扱いについて), with the clause that decides it, and records every recorded decision in a ' +
    'tamper-evident audit ledger. Every /v1 call needs `Authorization: Bearer <token>`.\n\n' +
    'The vocabulary (channels, purposes, data items, recipient and service categories, reason codes) is listed with each ' +
    'value’s clause of the notice and its Japanese and English labels. The decision routes answer their messages in the ' +
    'language of `Accept-Language` (`ja` or `en`). Every operation has named examples: pick one under "Try it out" to send it.'
}

/** The title of the /docs page (plain text: @fastify/swagger-ui writes it into the HTML as it is). */
export const DOCS_TITLE = `${OPENAPI_INFO.title} — API reference`

/** Where the document's operations are: relative, so "Try it out" calls the host that serves /docs. */
export const OPENAPI_SERVERS = [{ url: '/', description: 'This service: the host that serves this document' }]

/** The OpenAPI document (built from the route schemas), /openapi.json and the reference page at /docs. */
export default fp(
  async function docs(fastify: FastifyInstance) {
    fastify.addSchema(Problem)
    fastify.addSchema(DecisionSchema)
    await fastify.register(swagger, {
      openapi: {
        openapi: '3.1.0',
        info: OPENAPI_INFO,
        servers: OPENAPI_SERVERS,
        components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
        security: [{ bearer: [] }],
        tags: [
          { name: 'Decisions', description: 'May this hand-off happen? Checks and recorded transfers' },
          { name: 'Members', description: 'Consents, suspensions and provision records' },
          { name: 'Registries', description: 'Recipients (§II) and contractors (2(3), 2(4))' },
          { name: 'Ledger', description: 'The audit ledger: queries, verification, export' },
          { name: 'Clients', description: 'Who may call the service' },
          { name: 'Policy', description: 'The privacy notice as versioned data' },
          { name: 'Operations', description: 'Health, readiness, metrics and documents; no token needed' }
        ]
      },
      refResolver: {
        buildLocalReference: (json, _baseUri, _fragment, i) => (typeof json.$id === 'string' ? json.$id : `def-${i}`)
      },
      transform: ({ schema, url, route }) => {
        // Public routes need no token; say so, so the document does not ask for one.
        const access = (route.config as { access?: unknown } | undefined)?.access
        const transformed = { ...schema } as Record<string, unknown>
        if (access === 'public') transformed.security = []
        return { schema: transformed, url }
      }
    })
    // The reference page and its assets are as public as the document they show, and as a page
    // it needs its own scripts, styles and the document itself, which the API's CSP forbids.
    fastify.addHook('onRoute', (route) => {
      if (route.url !== '/docs' && !route.url.startsWith('/docs/')) return
      route.config = { ...route.config, access: 'public' }
      const existing = route.onSend === undefined ? [] : Array.isArray(route.onSend) ? route.onSend : [route.onSend]
      route.onSend = [
        ...existing,
        async (_request: FastifyRequest, reply: FastifyReply) => {
          reply.header('content-security-policy', DOCS_CSP)
        }
      ] as typeof route.onSend
    })
    // The page's title is what a browser tab, a bookmark and a history entry show: the service's
    // name, not the stock "Swagger UI". The page stays lang="en": its interface and text are English.
    await fastify.register(swaggerUi, {
      routePrefix: '/docs',
      uiConfig: { docExpansion: 'list', deepLinking: true },
      uiHooks: {},
      theme: { title: DOCS_TITLE }
    })
    fastify.get('/openapi.json', { config: { access: 'public' }, schema: { hide: true } }, async () => fastify.swagger())
  },
  { name: 'docs' }
)
