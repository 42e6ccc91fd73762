import { Counter, Registry, collectDefaultMetrics } from 'prom-client'

/** One registry per process; the /metrics route renders it. */
export const registry = new Registry()
collectDefaultMetrics({ register: registry })

export const decisionsTotal = new Counter({
  name: 'shizenha_decisions_total',
  help: 'Decisions made, by channel, outcome and whether they were checks or recorded transfers',
  labelNames: ['channel', 'decision', 'action'] as const,
  registers: [registry]
})

export const httpResponsesTotal = new Counter({
  name: 'shizenha_http_responses_total',
  help: 'HTTP responses by route pattern and status code',
  labelNames: ['route', 'status'] as const,
  registers: [registry]
})
