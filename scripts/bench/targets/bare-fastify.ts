// Baseline (a): the least a Fastify 5 service can do per request with this body: parse the JSON,
// validate it against the DecisionRequest schema, serialize a small answer. Run as a child
// process by the bench: PORT in the environment.
// With BARE_ANSWER (JSON: { headers, body }) it is (a′): the same, but answering with the bytes
// one real check answer has (its headers and its body), to show what sending them costs alone.
import Fastify from 'fastify'
import { Type } from 'typebox'
import { DecisionRequestSchema, HEALTH_PATH } from './decision-request.js'

const answer = process.env.BARE_ANSWER === undefined ? undefined : (JSON.parse(process.env.BARE_ANSWER) as { headers: Record<string, string>; body: string })

const app = Fastify({ logger: false })
app.get(HEALTH_PATH, async () => ({ ok: true }))
app.post(
  '/v1/checks',
  {
    schema: {
      body: DecisionRequestSchema,
      response: { 200: Type.Object({ decision: Type.String(), memberId: Type.String() }) }
    }
  },
  async (request, reply) => {
    if (answer !== undefined) return reply.headers(answer.headers).send(answer.body)
    return { decision: 'allow', memberId: (request.body as { memberId: string }).memberId }
  }
)
await app.listen({ host: '127.0.0.1', port: Number(process.env.PORT) })
process.on('SIGTERM', () => void app.close().then(() => process.exit(0)))
