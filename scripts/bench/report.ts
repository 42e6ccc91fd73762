import { mkdir, readFile, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { pathToFileURL } from 'node:url'
import type { Figure } from './load.js'

/** Everything one run measured; written as JSON and printed as a table. */
export interface BenchResults {
  readonly startedAt: string
  readonly label: string
  readonly serviceDir: string
  readonly serviceCommit: string
  readonly options: Record<string, unknown>
  readonly machine: Record<string, unknown>
  readonly database: { kind: 'postgres' | 'pglite'; settings: Record<string, string> }
  readonly figures: Figure[]
  readonly fill?: Record<string, unknown>
  readonly diagnose?: Record<string, unknown>
  ratios: Ratio[]
  targets: Target[]
}

export interface Ratio {
  readonly name: string
  readonly value: number
  readonly target: number
  readonly met: boolean
  readonly detail: string
  /** Shown to explain a target, not held to one. */
  readonly context?: boolean
}

export interface Target {
  readonly name: string
  readonly value: number
  readonly unit: string
  readonly target: string
  readonly met: boolean
}

export const FIGURE = {
  bare: 'baseline: bare Fastify (a)',
  bareAnswer: 'bare Fastify, the check’s answer (a′)',
  naive: 'baseline: naive INSERT (b)',
  copy: 'baseline: COPY rows (c)',
  checks: 'POST /v1/checks',
  checksCold: 'POST /v1/checks, every member new',
  oneMember64: 'transfers, one member, 64',
  spread64: 'transfers, spread, 64',
  oneMember256: 'transfers, one member, 256',
  spread256: 'transfers, spread, 256',
  batch: 'batch of 1000, 4 in flight',
  verify: 'GET /v1/ledger/verify',
  ledgerRead: 'GET /v1/ledger?memberId',
  provisionRead: 'GET …/provision-records'
} as const

function find(figures: readonly Figure[], name: string): Figure | undefined {
  return figures.find((f) => f.name === name)
}

/** The three ratios of the issue, where both sides were measured. */
export function computeRatios(figures: readonly Figure[]): { ratios: Ratio[]; targets: Target[] } {
  const ratios: Ratio[] = []
  const targets: Target[] = []
  const checks = find(figures, FIGURE.checks)
  const bare = find(figures, FIGURE.bare)
  const transfers = find(figures, FIGURE.oneMember64)
  const naive = find(figures, FIGURE.naive)
  const batch = find(figures, FIGURE.batch)
  const copy = find(figures, FIGURE.copy)
  if (checks && bare) {
    const value = checks.rps / bare.rps
    ratios.push({
      name: 'checks / bare Fastify',
      value,
      target: 0.5,
      met: value >= 0.5 && checks.p99Ms <= 10,
      detail: `≥ 0.5 and checks p99 ${checks.p99Ms.toFixed(1)} ms ≤ 10 ms`
    })
  }
  const bareAnswer = find(figures, FIGURE.bareAnswer)
  const context = (name: string, value: number, detail: string): Ratio => ({ name, value, target: Number.NaN, met: true, detail, context: true })
  if (bare && bareAnswer) {
    ratios.push(
      context(
        '(a′) / (a): what the answer’s own headers and body leave of the bare route',
        bareAnswer.rps / bare.rps,
        'the most checks / bare Fastify can reach while sending the answer the contract asks for'
      )
    )
  }
  if (checks && bareAnswer)
    ratios.push(context('checks / (a′): the service’s own work per check', checks.rps / bareAnswer.rps, 'everything but sending the answer'))
  if (transfers && naive) {
    const value = transfers.rps / naive.rps
    ratios.push({
      name: 'transfers one member 64 / naive INSERT',
      value,
      target: 2,
      met: value >= 2 && transfers.p99Ms <= 30,
      detail: `≥ 2.0 and transfers p99 ${transfers.p99Ms.toFixed(1)} ms ≤ 30 ms`
    })
  }
  if (batch?.entriesPerSecond !== undefined && copy?.entriesPerSecond !== undefined) {
    const value = batch.entriesPerSecond / copy.entriesPerSecond
    ratios.push({ name: 'batch entries/s / COPY rows/s', value, target: 0.5, met: value >= 0.5, detail: '≥ 0.5' })
  }
  const verify = find(figures, FIGURE.verify)
  if (verify?.entriesPerSecond !== undefined) {
    targets.push({
      name: 'verify throughput',
      value: verify.entriesPerSecond,
      unit: 'entries/s',
      target: '≥ 200000',
      met: verify.entriesPerSecond >= 200_000 && Object.keys(verify.errors).length === 0
    })
  }
  for (const name of [FIGURE.ledgerRead, FIGURE.provisionRead]) {
    const f = find(figures, name)
    if (f) targets.push({ name: `${name} p99`, value: f.p99Ms, unit: 'ms', target: '≤ 10', met: f.p99Ms <= 10 && Object.keys(f.errors).length === 0 })
  }
  return { ratios, targets }
}

// NaN (not measured) comes back from JSON as null.
const num = (n: number | null | undefined, digits = 0) =>
  n === undefined || n === null || Number.isNaN(n) ? '' : n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits })

/** The table as Markdown, so the same text goes to the terminal and into BENCHMARKS.md. */
export function formatTable(results: BenchResults): string {
  const header =
    '| figure | conns | req/s | entries/s | p50 ms | p99 ms | ok | errors | peak RSS MiB | CPU cores: bench / target / database / machine | others |'
  const rows = results.figures.map((f) => {
    const errors =
      Object.entries(f.errors)
        .map(([k, v]) => `${k}: ${v}`)
        .join(', ') || '0'
    return `| ${f.name} | ${f.connections || ''} | ${num(f.rps, f.rps < 100 ? 1 : 0)} | ${num(f.entriesPerSecond)} | ${num(f.p50Ms, 2)} | ${num(f.p99Ms, 2)} | ${num(f.okCount)} | ${errors} | ${num(f.peakRssMiB)} | ${num(f.cpu.bench, 2)} / ${num(f.cpu.target, 2)} / ${num(f.cpu.database, 2) || '–'} / ${num(f.cpu.machine, 2)} | ${num(f.backgroundCores, 2)} |`
  })
  const ratios = results.ratios.map((r) =>
    r.context === true
      ? `- ${r.name}: **${r.value.toFixed(2)}** (${r.detail})`
      : `- ${r.name}: **${r.value.toFixed(2)}** (target ${r.detail}) ${r.met ? 'met' : 'MISSED'}`
  )
  const targets = results.targets.map(
    (t) => `- ${t.name}: **${num(t.value, t.unit === 'ms' ? 2 : 0)} ${t.unit}** (target ${t.target}) ${t.met ? 'met' : 'MISSED'}`
  )
  return [header, '|---|---:|---:|---:|---:|---:|---:|---|---:|---|---:|', ...rows, '', ...ratios, ...targets].join('\n')
}

/** bench-results/<timestamp>.json; returns its path. */
export async function writeResults(outDir: string, results: BenchResults): Promise<string> {
  await mkdir(outDir, { recursive: true })
  const file = path.join(outDir, `${results.startedAt.replace(/[:.]/g, '-')}.json`)
  await writeFile(file, `${JSON.stringify(results, null, 2)}\n`)
  return file
}

// Run alone to print a saved run again (e.g. into BENCHMARKS.md): tsx scripts/bench/report.ts bench-results/FILE.json
if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  const file = process.argv[2]
  if (!file) {
    process.stderr.write('usage: tsx scripts/bench/report.ts bench-results/FILE.json\n')
    process.exit(2)
  }
  const results = JSON.parse(await readFile(file, 'utf8')) as BenchResults
  process.stdout.write(`${results.label} — ${results.database.kind}, ${String(results.options.duration)} s per figure\n\n${formatTable(results)}\n`)
}
